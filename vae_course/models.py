"""The course's models: AE, VAE and CVAE as small MLPs, and ConvVAE, a small convolutional VAE
(``conv_vae()``: with :class:`ConvDecoder`).

Each model works on images ``(B, 1, 28, 28)`` (or already flat ``(B, 784)``), returns decoded images
``(B, 1, 28, 28)`` with values in [0, 1] (pixel probabilities), and keeps its constructor arguments in
``.config`` so that a checkpoint can rebuild it. Same layout as pytorch/examples' VAE: one hidden
layer of 400 units by default.
"""

import torch
from torch import nn
from torch.nn import functional as F

X_SHAPE = (1, 28, 28)
X_DIM = 784


def flatten_images(x: torch.Tensor) -> torch.Tensor:
    """``(B, 1, 28, 28)`` or ``(B, 784)`` -> ``(B, 784)``; anything else is a ValueError."""
    if not torch.is_tensor(x):
        raise ValueError(f"expected a tensor of images, got {type(x).__name__}.")
    if x.dim() == 4 and tuple(x.shape[1:]) == X_SHAPE or x.dim() == 2 and x.shape[1] == X_DIM:
        return x.reshape(len(x), X_DIM)
    raise ValueError(f"expected images of shape (B, 1, 28, 28) or (B, 784), got {tuple(x.shape)}."
                     + (" Add the batch dimension: x.unsqueeze(0)." if x.dim() == 3 else ""))


def _mlp(sizes: list[int]) -> nn.Sequential:
    """Linear layers with ReLU between them (none after the last)."""
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def _check_z(z: torch.Tensor, latent_dim: int) -> None:
    if not torch.is_tensor(z) or z.dim() != 2 or z.shape[1] != latent_dim:
        got = tuple(z.shape) if torch.is_tensor(z) else type(z).__name__
        raise ValueError(f"expected latent codes of shape (B, {latent_dim}), got {got}.")


class AE(nn.Module):
    """A deterministic autoencoder: x -> z -> x_hat."""

    def __init__(self, latent_dim: int = 2, hidden: tuple[int, ...] = (400,)):
        super().__init__()
        self.config = {"latent_dim": latent_dim, "hidden": list(hidden)}
        self.latent_dim = latent_dim
        self.encoder = _mlp([X_DIM, *hidden, latent_dim])           # (B, 784) -> (B, latent_dim)
        self.decoder = _mlp([latent_dim, *reversed(hidden), X_DIM])  # (B, latent_dim) -> (B, 784)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, 1, 28, 28)`` -> code ``z`` ``(B, latent_dim)``."""
        return self.encoder(flatten_images(x))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """``(B, latent_dim)`` -> ``x_hat`` ``(B, 1, 28, 28)`` in [0, 1]."""
        _check_z(z, self.latent_dim)
        return torch.sigmoid(self.decoder(z)).view(-1, *X_SHAPE)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Returns ``(x_hat, z)``."""
        z = self.encode(x)
        return self.decode(z), z


class VAE(nn.Module):
    """A variational autoencoder with a Gaussian encoder q(z|x) = N(mu, diag(exp(logvar)))."""

    def __init__(self, latent_dim: int = 20, hidden: tuple[int, ...] = (400,)):
        super().__init__()
        self.config = {"latent_dim": latent_dim, "hidden": list(hidden)}
        self.latent_dim = latent_dim
        self.encoder = _mlp([X_DIM, *hidden, 2 * latent_dim])        # (B, 784) -> (B, 2 * latent_dim)
        self.decoder = _mlp([latent_dim, *reversed(hidden), X_DIM])  # (B, latent_dim) -> (B, 784)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(B, 1, 28, 28)`` -> ``(mu, logvar)``, each ``(B, latent_dim)``."""
        mu, logvar = self.encoder(flatten_images(x)).chunk(2, dim=1)
        return mu, logvar

    def reparameterize(self, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        """``z = mu + sigma * eps`` with ``eps ~ N(0, I)``: a sample that gradients flow through."""
        eps = torch.randn_like(mu)
        return mu + torch.exp(0.5 * logvar) * eps

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """``(B, latent_dim)`` -> ``x_hat`` ``(B, 1, 28, 28)``: Bernoulli means in [0, 1]."""
        _check_z(z, self.latent_dim)
        return torch.sigmoid(self.decoder(z)).view(-1, *X_SHAPE)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Returns ``(x_hat, mu, logvar)``; ``x_hat`` decodes one sample ``z ~ q(z|x)``."""
        mu, logvar = self.encode(x)
        z = self.reparameterize(mu, logvar)
        return self.decode(z), mu, logvar


class CVAE(nn.Module):
    """A conditional VAE: encoder q(z|x, y) and decoder p(x|z, y) both see the one-hot label y."""

    def __init__(self, latent_dim: int = 2, hidden: tuple[int, ...] = (400,), n_classes: int = 10):
        super().__init__()
        self.config = {"latent_dim": latent_dim, "hidden": list(hidden), "n_classes": n_classes}
        self.latent_dim = latent_dim
        self.n_classes = n_classes
        self.encoder = _mlp([X_DIM + n_classes, *hidden, 2 * latent_dim])        # (B, 794) -> (B, 2L)
        self.decoder = _mlp([latent_dim + n_classes, *reversed(hidden), X_DIM])  # (B, L + 10) -> (B, 784)

    def one_hot(self, y: torch.Tensor) -> torch.Tensor:
        """Integer labels ``(B,)`` -> one-hot floats ``(B, n_classes)``."""
        if not torch.is_tensor(y) or y.dim() != 1 or y.is_floating_point():
            got = tuple(y.shape) if torch.is_tensor(y) else type(y).__name__
            raise ValueError(f"expected integer labels of shape (B,), got {got}.")
        if len(y) and (y.min() < 0 or y.max() >= self.n_classes):
            raise ValueError(f"labels must lie in 0..{self.n_classes - 1}, got {y.min()}..{y.max()}.")
        return F.one_hot(y, self.n_classes).float()

    def encode(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(B, 1, 28, 28)``, ``(B,)`` -> ``(mu, logvar)``, each ``(B, latent_dim)``."""
        x = flatten_images(x)
        if len(x) != len(y):
            raise ValueError(f"got {len(x)} images but {len(y)} labels.")
        h = torch.cat([x, self.one_hot(y)], dim=1)  # (B, 784 + 10)
        mu, logvar = self.encoder(h).chunk(2, dim=1)
        return mu, logvar

    def reparameterize(self, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        """``z = mu + sigma * eps`` with ``eps ~ N(0, I)``."""
        return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)

    def decode(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """``(B, latent_dim)``, ``(B,)`` -> ``x_hat`` ``(B, 1, 28, 28)`` in [0, 1]."""
        _check_z(z, self.latent_dim)
        if len(z) != len(y):
            raise ValueError(f"got {len(z)} codes but {len(y)} labels.")
        h = torch.cat([z, self.one_hot(y)], dim=1)  # (B, latent_dim + 10)
        return torch.sigmoid(self.decoder(h)).view(-1, *X_SHAPE)

    def forward(self, x: torch.Tensor, y: torch.Tensor):
        """Returns ``(x_hat, mu, logvar)``."""
        mu, logvar = self.encode(x, y)
        z = self.reparameterize(mu, logvar)
        return self.decode(z, y), mu, logvar


def images(x: torch.Tensor) -> torch.Tensor:
    """``(B, 1, 28, 28)`` or ``(B, 784)`` -> ``(B, 1, 28, 28)``; anything else is a ValueError."""
    return flatten_images(x).view(-1, *X_SHAPE)


class ConvDecoder(nn.Module):
    """Codes ``(B, latent_dim)`` -> Bernoulli means ``(B, 1, 28, 28)`` by two transposed convolutions,
    each doubling the image's side (7 -> 14 -> 28): the decoder of notebook 09's exercise 4."""

    def __init__(self, latent_dim: int = 20, channels: tuple[int, int] = (16, 32)):
        super().__init__()
        c1, c2 = channels
        self.net = nn.Sequential(
            nn.Linear(latent_dim, c2 * 49), nn.ReLU(),                      # (B, L) -> (B, c2 * 49)
            nn.Unflatten(1, (c2, 7, 7)),                                    # -> (B, c2, 7, 7)
            nn.ConvTranspose2d(c2, c1, 4, stride=2, padding=1), nn.ReLU(),  # -> (B, c1, 14, 14)
            nn.ConvTranspose2d(c1, 1, 4, stride=2, padding=1),              # -> (B, 1, 28, 28) logits
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.net(z))


class ConvVAE(nn.Module):
    """A VAE with a convolutional encoder and the decoder it is given (notebook 09), the same
    interface as :class:`VAE`.

    Each strided convolution of the encoder halves the image's side (28 -> 14 -> 7); ``decoder`` maps
    codes ``(B, latent_dim)`` back to Bernoulli means ``(B, 1, 28, 28)`` (notebook 09 builds one with
    transposed convolutions). The codes, the loss and everything downstream are the VAE's.
    """

    def __init__(self, decoder: nn.Module, latent_dim: int = 20, channels: tuple[int, int] = (16, 32)):
        super().__init__()
        self.config = {"latent_dim": latent_dim, "channels": list(channels)}
        self.latent_dim = latent_dim
        c1, c2 = channels
        self.encoder = nn.Sequential(
            nn.Conv2d(1, c1, 4, stride=2, padding=1), nn.ReLU(),   # (B, 1, 28, 28) -> (B, c1, 14, 14)
            nn.Conv2d(c1, c2, 4, stride=2, padding=1), nn.ReLU(),  # -> (B, c2, 7, 7)
            nn.Flatten(),                                          # -> (B, c2 * 49)
            nn.Linear(c2 * 49, 2 * latent_dim),                    # -> (B, 2 * latent_dim)
        )
        self.decoder = decoder

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(B, 1, 28, 28)`` -> ``(mu, logvar)``, each ``(B, latent_dim)``."""
        mu, logvar = self.encoder(images(x)).chunk(2, dim=1)
        return mu, logvar

    def reparameterize(self, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        """``z = mu + sigma * eps`` with ``eps ~ N(0, I)``."""
        return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """``(B, latent_dim)`` -> ``x_hat`` ``(B, 1, 28, 28)``: Bernoulli means in [0, 1]."""
        _check_z(z, self.latent_dim)
        return self.decoder(z)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Returns ``(x_hat, mu, logvar)``; ``x_hat`` decodes one sample ``z ~ q(z|x)``."""
        mu, logvar = self.encode(x)
        z = self.reparameterize(mu, logvar)
        return self.decode(z), mu, logvar


def conv_vae(latent_dim: int = 20, channels: tuple[int, int] = (16, 32)) -> ConvVAE:
    """The package's convolutional VAE: :class:`ConvVAE` with :class:`ConvDecoder`."""
    return ConvVAE(ConvDecoder(latent_dim, channels), latent_dim, channels)


MODELS = {"AE": AE, "VAE": VAE, "CVAE": CVAE, "ConvVAE": conv_vae}  # what a checkpoint's config rebuilds
