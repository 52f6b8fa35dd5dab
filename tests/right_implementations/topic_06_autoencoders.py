"""Correct alternatives for assignment 06 (autoencoders): see __init__.py."""
from right_implementations import RightImplementation as R

ASSIGNMENT = "06_autoencoders"

RIGHT = [
    # Exercise 1 by the eigendecomposition of the covariance (np.linalg.eigh: ascending eigenvalues, so
    # reversed), each component's sign fixed so that its largest entry is positive.
    R("pca_eigh_of_covariance", cells={
        "pca": '''
def pca(X, k):
    """PCA from the eigenvectors of the sample covariance."""
    X = np.asarray(X, dtype=np.float64)
    mean = X.mean(axis=0)
    centred = X - mean
    covariance = centred.T @ centred / (X.shape[0] - 1)       # (D, D)
    eigenvalues, eigenvectors = np.linalg.eigh(covariance)   # ascending
    order = np.argsort(eigenvalues)[::-1][:k]
    components = eigenvectors[:, order].T                    # (k, D), rows
    largest = np.argmax(np.abs(components), axis=1)
    components = components * np.sign(components[np.arange(k), largest])[:, None]
    return components, mean, eigenvalues[order]
''',
    }),
    # Exercises 2 and 3: einsum for the encoder and decoder; principal angles from orthonormal bases given by
    # the SVD (not QR), sorted explicitly.
    R("pca_einsum_and_angles_from_svd_bases", cells={
        "pca_transform": '''
def pca_transform(X, components, mean):
    """Z[n, j] = sum_d (X[n, d] - mean[d]) components[j, d]."""
    return np.einsum("nd,jd->nj", X - mean[None, :], components)


def pca_reconstruct(Z, components, mean):
    """X_hat[n, d] = sum_j Z[n, j] components[j, d] + mean[d]."""
    return np.einsum("nj,jd->nd", Z, components) + mean[None, :]
''',
        "principal_angles": '''
def principal_angles(A, B):
    """Angles between row spaces, from the singular values of U_A^T U_B."""
    U_A = np.linalg.svd(np.asarray(A, dtype=np.float64).T, full_matrices=False)[0]   # (D, k)
    U_B = np.linalg.svd(np.asarray(B, dtype=np.float64).T, full_matrices=False)[0]
    cosines = np.linalg.svd(U_A.T @ U_B, compute_uv=False)
    return np.sort(np.arccos(np.clip(cosines, -1.0, 1.0)))
''',
    }),
    # Exercise 4: the mask from rng.binomial and the noise from rng.normal with scale sigma.
    R("corruption_binomial_and_normal", cells={
        "corruption": '''
def blankout(x, p, rng):
    """Each entry kept with probability 1 - p (a Bernoulli mask), else 0; a new array."""
    keep = rng.binomial(1, 1.0 - p, size=x.shape)
    return (x * keep).astype(x.dtype)


def gaussian_corrupt(x, sigma, rng):
    """x + N(0, sigma^2) noise; a new array."""
    noise = rng.normal(loc=0.0, scale=sigma, size=x.shape)
    return np.add(x, noise).astype(x.dtype)
''',
    }),
    # Exercise 4 by boolean-index blanking: copy x, then zero the entries a boolean mask picks (True with
    # probability p); the noise drawn in x's dtype and added to a copy in place.
    R("corruption_boolean_index_blanking", cells={
        "corruption": '''
def blankout(x, p, rng):
    """A copy of x with the entries where a uniform draw falls below p set to 0."""
    out = x.copy()
    out[rng.random(x.shape) < p] = 0
    return out


def gaussian_corrupt(x, sigma, rng):
    """A copy of x plus sigma times standard normal noise, in x's dtype."""
    out = np.array(x, copy=True)
    out += (sigma * rng.standard_normal(x.shape)).astype(x.dtype)
    return out
''',
    }),
    # Exercise 5 with two nn.ModuleLists and the ReLUs applied in the loops (functional ReLU).
    R("autoencoder_module_lists", cells={
        "autoencoder": '''
class Autoencoder(nn.Module):
    """Encoder and decoder as lists of nn.Linear layers, ReLU between layers."""

    def __init__(self, d_in, d_code, hidden=()):
        super().__init__()
        sizes = [d_in, *hidden, d_code]
        self.encoder_layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        back = sizes[::-1]
        self.decoder_layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(back[:-1], back[1:]))

    @staticmethod
    def _run(layers, h):
        for index, layer in enumerate(layers):
            h = layer(h)
            if index < len(layers) - 1:
                h = F.relu(h)
        return h

    def encode(self, x):
        return self._run(self.encoder_layers, x)

    def decode(self, z):
        return self._run(self.decoder_layers, z)

    def forward(self, x):
        return self.decode(self.encode(x))
''',
    }),
    # Exercises 6 and 7: torch.addcmul for z, and the KL with expm1 (exp(l) - 1 without cancellation).
    R("reparameterize_addcmul_kl_expm1", cells={
        "reparameterize": '''
def reparameterize(mu, logvar, eps):
    """z = mu + exp(logvar / 2) * eps."""
    return torch.addcmul(mu, torch.exp(logvar / 2), eps)
''',
        "gaussian_kl": '''
def gaussian_kl(mu, logvar):
    """0.5 * sum_j (mu_j^2 + (exp(logvar_j) - 1) - logvar_j)."""
    return 0.5 * torch.sum(mu.square() + torch.expm1(logvar) - logvar, dim=1)
''',
    }),
    # Exercise 8 with the binary cross-entropy written out with log-sigmoids, summed over the whole batch
    # then divided by N.
    R("vae_loss_explicit_logsigmoid", cells={
        "vae_loss": '''
def vae_loss(x_logits, x, mu, logvar):
    """Mean over the batch of -sum_pixels [x log s(l) + (1 - x) log s(-l)] + KL."""
    N = x_logits.shape[0]
    bce = -(x * F.logsigmoid(x_logits) + (1.0 - x) * F.logsigmoid(-x_logits))    # (N, D)
    return bce.sum() / N + gaussian_kl(mu, logvar).sum() / N
''',
    }),
]
