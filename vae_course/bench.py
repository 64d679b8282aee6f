"""Speed benchmark: the course's in-memory training loop against the pytorch/examples pipeline.

Both train the same 784-400-20 VAE (Bernoulli likelihood on grey levels + KL, Adam 1e-3, batch 128)
for one epoch on MNIST in the same process, one after the other:

- **baseline**: torchvision ``MNIST`` with ``ToTensor()`` per image and a ``DataLoader`` (as in
  pytorch/examples ``vae/main.py`` on a CPU: ``num_workers=0``);
- **course**: ``load_dataset`` once into a tensor, then ``train.fit`` slicing shuffled batches.

Run ``python -m vae_course.bench`` (add ``--epochs 10`` for the reference-quality run whose test
loss the README quotes). It prints a table; the ratio is course / baseline samples per second.
"""

import argparse
import time

import torch
from torch import nn
from torch.nn import functional as F

from .data import data_root, load_dataset
from .losses import vae_loss
from .models import VAE
from .train import fit, seed_everything


class ExamplesVAE(nn.Module):
    """The pytorch/examples VAE, layer for layer (784-400-20), as the baseline's model."""

    def __init__(self):
        super().__init__()
        self.fc1, self.fc21, self.fc22 = nn.Linear(784, 400), nn.Linear(400, 20), nn.Linear(400, 20)
        self.fc3, self.fc4 = nn.Linear(20, 400), nn.Linear(400, 784)

    def forward(self, x):
        h = F.relu(self.fc1(x.view(-1, 784)))
        mu, logvar = self.fc21(h), self.fc22(h)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        return torch.sigmoid(self.fc4(F.relu(self.fc3(z)))), mu, logvar


def baseline_epoch(max_batches: int | None = None) -> tuple[int, float]:
    """One epoch of the DataLoader pipeline; returns (images seen, seconds)."""
    from torchvision import datasets, transforms

    seed_everything(0)
    load_dataset("mnist", "train")  # make sure the files are there and verified
    ds = datasets.MNIST(str(data_root()), train=True, download=False, transform=transforms.ToTensor())
    loader = torch.utils.data.DataLoader(ds, batch_size=128, shuffle=True)
    model = ExamplesVAE()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    seen, start = 0, time.perf_counter()
    for i, (x, _) in enumerate(loader):
        if max_batches is not None and i >= max_batches:
            break
        x_hat, mu, logvar = model(x)
        bce = F.binary_cross_entropy(x_hat, x.view(-1, 784), reduction="sum")
        kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
        loss = bce + kld
        opt.zero_grad()
        loss.backward()
        opt.step()
        seen += len(x)
    return seen, time.perf_counter() - start


def course_epoch(max_batches: int | None = None) -> tuple[int, float]:
    """One epoch of the course's loop, data loading included; returns (images seen, seconds)."""
    start = time.perf_counter()
    x, y = load_dataset("mnist", "train")
    if max_batches is not None:
        x, y = x[: max_batches * 128], y[: max_batches * 128]
    fit(VAE(latent_dim=20, hidden=(400,)), vae_loss, (x, y), epochs=1, progress=False,
        device="cpu")
    return len(x), time.perf_counter() - start


def reference_run(epochs: int) -> None:
    """Train the 784-400-20 VAE for ``epochs`` and print the test loss per epoch (nats / image)."""
    x, y = load_dataset("mnist", "train")
    test = load_dataset("mnist", "test")
    history = fit(VAE(latent_dim=20, hidden=(400,)), vae_loss, (x, y), epochs=epochs,
                  test_data=test, progress=False)
    print(f"{'epoch':>5} {'train':>8} {'test':>8}   (nats / image)")
    for i, (tr, te) in enumerate(zip(history.train_loss, history.test_loss), start=1):
        print(f"{i:>5} {tr:>8.2f} {te:>8.2f}")
    print(f"{epochs} epochs in {history.seconds:.0f} s of training "
          f"({history.samples_per_second:,.0f} images/s, {torch.get_num_threads()} threads)")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=None,
                        help="stop each pipeline after this many batches (default: a whole epoch)")
    parser.add_argument("--epochs", type=int, default=0,
                        help="also train the course's VAE this many epochs and print its test loss")
    args = parser.parse_args(argv)

    rows = []
    for name, run in (("pytorch/examples (DataLoader + ToTensor)", baseline_epoch),
                      ("vae_course (in-memory tensors + fit)", course_epoch)):
        seen, seconds = run(args.batches)
        rows.append((name, seen, seconds, seen / seconds))
    base = rows[0][3]
    print(f"One epoch of the 784-400-20 VAE on MNIST, CPU, {torch.get_num_threads()} threads")
    print(f"{'pipeline':<42} {'images':>7} {'seconds':>8} {'images/s':>9} {'ratio':>6}")
    for name, seen, seconds, rate in rows:
        print(f"{name:<42} {seen:>7} {seconds:>8.1f} {rate:>9,.0f} {rate / base:>5.2f}x")
    if args.epochs:
        reference_run(args.epochs)


if __name__ == "__main__":
    main()
