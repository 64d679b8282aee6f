"""The digit classifier that judges generated images: small, cached, honest about confidence."""

import pytest
import torch

from vae_course import classifier
from vae_course.classifier import DigitClassifier, Verdict, judge, predict_proba
from vae_course.train import Recipe


def test_classifier_maps_images_to_ten_logits_and_features():
    model = DigitClassifier()
    x = torch.rand(4, 1, 28, 28)
    assert model(x).shape == (4, 10)
    assert model(x.reshape(4, 784)).shape == (4, 10)
    assert model.embed(x).shape == (4, 256)


def test_predict_proba_rows_sum_to_one_and_reject_0_255_images():
    model = DigitClassifier()
    p = predict_proba(model, torch.rand(5, 1, 28, 28))
    assert p.shape == (5, 10) and torch.allclose(p.sum(1), torch.ones(5))
    with pytest.raises(ValueError, match="255"):
        predict_proba(model, torch.rand(2, 1, 28, 28) * 255)


def test_verdict_counts_confident_images_per_digit():
    probs = torch.tensor([[0.95] + [0.05 / 9] * 9, [0.5, 0.5] + [0.0] * 8, [0.0] * 9 + [1.0]])
    conf, digit = probs.max(1)
    v = Verdict(probs=probs, digit=digit, confidence=conf, threshold=0.9)
    assert v.sure.tolist() == [True, False, True]
    assert v.fraction_unsure == pytest.approx(1 / 3)
    assert v.digit_counts().tolist() == [1] + [0] * 8 + [1]
    assert v.digit_counts(only_sure=False).sum() == 3


def test_a_few_training_steps_lower_the_loss_on_a_fixed_batch():
    torch.manual_seed(0)
    model = DigitClassifier()
    x = torch.rand(64, 1, 28, 28)
    y = torch.arange(64) % 10
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    before = classifier.classifier_loss(model, x, y).item()
    for _ in range(30):
        opt.zero_grad()
        classifier.classifier_loss(model, x, y).backward()
        opt.step()
    model.eval()
    assert classifier.classifier_loss(model, x, y).item() < before
    assert judge(model, x, threshold=0.0).fraction_sure == 1.0


def test_load_classifier_trains_once_then_loads_from_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("VAE_COURSE_CACHE", str(tmp_path))
    tiny = Recipe(loss="classifier_loss", binarize=False, n_train=300, epochs=1, lr=2e-3)
    monkeypatch.setattr(classifier, "classifier_recipe", lambda: tiny)
    calls = []
    real_fit = Recipe.fit

    def counting_fit(self, *args, **kwargs):
        calls.append(1)
        return real_fit(self, *args, **kwargs)

    monkeypatch.setattr(Recipe, "fit", counting_fit)
    first = classifier.load_classifier(progress=False)
    second = classifier.load_classifier(progress=False)
    assert calls == [1]
    assert [p.name.rsplit("-", 1)[0] for p in tmp_path.iterdir()] == ["classifier_loss"]
    assert second.history.loaded and not first.history.loaded
    assert second.history.train_loss == first.history.train_loss
    assert 0.1 < second.metadata["test_accuracy"] == first.metadata["test_accuracy"]
    for a, b in zip(first.state_dict().values(), second.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    classifier.load_classifier(retrain=True, progress=False)
    assert calls == [1, 1]
