"""Training throughput: pytorch/examples' data pipeline against the course's in-memory loop.

Both train the same 784-400-20 VAE (Bernoulli likelihood on grey levels + KL, Adam 1e-3, batch 128)
for one epoch on MNIST, one after the other in the same process:

- **pytorch/examples**: torchvision ``MNIST`` with ``ToTensor()`` per image and a ``DataLoader``
  (as in pytorch/examples ``vae/main.py`` on a CPU: ``num_workers=0``), its model and loss verbatim;
- **course, as the notebooks train**: ``load_dataset`` once into a tensor, then ``train.fit`` with
  ``losses.vae_loss`` and ``fit``'s default optimizer (fused Adam, ``train.adam``);
- **course, fast path**: the same ``fit`` with :mod:`vae_course.speed`'s logits loss.

Each side's epoch is timed from its first batch to its last; the one-time setup before it
(pytorch/examples: torchvision's ``MNIST`` objects and ``DataLoader``s; the course: the training set
loaded into one tensor) is timed apart, and the benchmark prints the ratio with it counted too.

The arithmetic efficiency is images/s x FLOPs per image / the float32 matmul rate this machine
reaches in one large ``torch.mm`` (:func:`matmul_peak`), measured in the same run.
"""

import time

import torch
from torch import nn
from torch.nn import functional as F

from ..data import binarize_dynamic, data_root, load_dataset
from ..losses import vae_loss
from ..models import VAE
from ..speed import vae_loss_logits
from ..train import fit, seed_everything


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


def examples_loss(x_hat, x, mu, logvar) -> torch.Tensor:
    """pytorch/examples' ``loss_function``: BCE + KL, **summed** over the batch (nats per batch)."""
    bce = F.binary_cross_entropy(x_hat, x.view(-1, 784), reduction="sum")
    kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return bce + kld


def examples_loaders(batch_size: int = 128, verify: bool = True):
    """pytorch/examples' train (shuffled) and test ``DataLoader``s over torchvision's ``MNIST``.
    ``verify``: first check that the files are there and intact (the course's checksums)."""
    from torchvision import datasets, transforms

    if verify:
        load_dataset("mnist", "train")
        load_dataset("mnist", "test")
    root, to_tensor = str(data_root()), transforms.ToTensor()
    train = datasets.MNIST(root, train=True, download=False, transform=to_tensor)
    test = datasets.MNIST(root, train=False, download=False, transform=to_tensor)
    return (torch.utils.data.DataLoader(train, batch_size=batch_size, shuffle=True),
            torch.utils.data.DataLoader(test, batch_size=batch_size, shuffle=True))  # as main.py


def examples_train_epoch(model, opt, loader, device, max_batches: int | None = None) -> int:
    """One epoch of pytorch/examples' ``train``; returns the number of images seen."""
    model.train()
    seen = 0
    for i, (x, _) in enumerate(loader):
        if max_batches is not None and i >= max_batches:
            break
        x = x.to(device)
        opt.zero_grad()
        x_hat, mu, logvar = model(x)
        loss = examples_loss(x_hat, x, mu, logvar)
        loss.backward()
        opt.step()
        seen += len(x)
    return seen


def baseline_epoch(device="cpu", max_batches: int | None = None) -> tuple[int, float, float]:
    """One epoch of the pytorch/examples pipeline; returns (images seen, seconds of the epoch,
    seconds of its one-time setup: building the datasets and loaders, the model, the optimizer)."""
    seed_everything(0)
    examples_loaders()  # the course's checksums of the files: not pytorch/examples' work, not timed
    start = time.perf_counter()
    loader, _ = examples_loaders(verify=False)
    model = ExamplesVAE().to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    epoch_start = time.perf_counter()
    seen = examples_train_epoch(model, opt, loader, device, max_batches)
    return seen, time.perf_counter() - epoch_start, epoch_start - start


def course_epoch(device="cpu", max_batches: int | None = None, fast: bool = True
                 ) -> tuple[int, float, float]:
    """One epoch of ``fit``; returns (images, seconds of the epoch, seconds of its one-time setup:
    loading the training set into memory, the model). ``fast``: :mod:`vae_course.speed`'s logits
    loss, else ``losses.vae_loss`` as the notebooks train; both with ``fit``'s fused Adam."""
    start = time.perf_counter()
    x, _ = load_dataset("mnist", "train")
    if max_batches is not None:
        x = x[: max_batches * 128]
    model = VAE(latent_dim=20, hidden=(400,))
    epoch_start = time.perf_counter()
    fit(model, vae_loss_logits if fast else vae_loss, x, epochs=1, progress=False, device=device)
    return len(x), time.perf_counter() - epoch_start, epoch_start - start


def compiled_epoch(device="cpu", max_batches: int | None = None, repeats: int = 2
                   ) -> tuple[int, float, float]:
    """``course_epoch``'s fast path with the loss (model forward and backward inside it) compiled by
    ``torch.compile``: returns (images, seconds of the fastest of ``repeats`` epochs after the first,
    seconds of compiling: the first epoch's time beyond that; the last, shorter batch compiles again)."""
    x, _ = load_dataset("mnist", "train")
    if max_batches is not None:
        x = x[: max_batches * 128]
    model = VAE(latent_dim=20, hidden=(400,))
    torch._dynamo.reset()
    loss = torch.compile(vae_loss_logits)
    seconds = []
    for epoch in range(1 + repeats):
        start = time.perf_counter()
        fit(model, loss, x, epochs=1, progress=False, device=device, seed=epoch, reinit=epoch == 0)
        seconds.append(time.perf_counter() - start)
    return len(x), min(seconds[1:]), seconds[0] - min(seconds[1:])


def notebook_training(compiled: bool, device="cpu", n_train: int | None = None, epochs: int = 4
                      ) -> float:
    """Seconds of a learner's training as notebook 05 runs it (its 784-400-2 VAE, ``losses.vae_loss``
    with its input checks, the course's recipe: ``epochs`` one-cycle epochs to 8e-3, binarized
    batches), with ``compiled`` the loss compiled by ``torch.compile``, its compile time included."""
    x, _ = load_dataset("mnist", "train")
    x = x[:n_train]
    torch._dynamo.reset()
    start = time.perf_counter()
    loss = torch.compile(vae_loss) if compiled else vae_loss
    fit(VAE(latent_dim=2), loss, x, epochs, lr=8e-3, schedule="one-cycle", transform=binarize_dynamic,
        progress=False, device=device)
    return time.perf_counter() - start


def flops_per_image(model: nn.Module) -> float:
    """Training FLOPs per image: 2 per multiply-add of every ``nn.Linear`` in the forward pass, times
    3 for forward + backward (the usual estimate; element-wise operations not counted)."""
    macs = sum(m.in_features * m.out_features for m in model.modules() if isinstance(m, nn.Linear))
    return 3 * 2 * macs


def matmul_peak(device="cpu", n: int = 2048, repeats: int = 5) -> float:
    """The float32 FLOP/s of the fastest of ``repeats`` ``(n, n) @ (n, n)`` products (2 n^3 each)."""
    a = torch.randn(n, n, device=device)
    b = torch.randn(n, n, device=device)
    best = float("inf")
    for _ in range(repeats + 1):  # the first one warms up
        if device != "cpu":
            torch.cuda.synchronize()
        start = time.perf_counter()
        torch.mm(a, b)
        if device != "cpu":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best
