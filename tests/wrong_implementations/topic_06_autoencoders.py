"""Wrong implementations of assignment 06 (autoencoders, from PCA to the VAE): see __init__.py.

Explained variance follows scikit-learn's convention: eigenvalues of the sample covariance, divided by N - 1.
"""
from wrong_implementations import WrongImplementation as W

ASSIGNMENT = "06_autoencoders"
RUNAWAY = ("pca", ("pca_test",))

WRONG = [
    # PCA
    W("pca_data_not_centred", "pca", "np.linalg.svd(X - mean, full_matrices=False)",
      "np.linalg.svd(X, full_matrices=False)", loses=("pca_test",)),
    W("pca_components_as_columns", "pca", "components = Vt[:k]", "components = Vt[:k].T",
      loses=("pca_test",)),
    W("pca_components_in_ascending_order", "pca",
      "components = Vt[:k]                                           # (k, D)\n"
      "    explained_variance = S[:k] ** 2 / (len(X) - 1)",
      "components = Vt[::-1][:k]\n    explained_variance = S[::-1][:k] ** 2 / (len(X) - 1)",
      loses=("pca_test",)),
    W("pca_variance_divided_by_n", "pca", "S[:k] ** 2 / (len(X) - 1)", "S[:k] ** 2 / len(X)",
      loses=("pca_test",)),
    W("pca_through_torch", "pca", "np.linalg.svd(X - mean, full_matrices=False)",   # right values, NumPy-only
      "(t.numpy() for t in torch.linalg.svd(torch.as_tensor(X - mean), full_matrices=False))",
      loses=("pca_test",)),
    W("pca_transform_not_centred", "pca_transform", "return (X - mean) @ components.T",
      "return X @ components.T", loses=("pca_transform_test",)),
    # principal angles
    W("principal_angles_in_degrees", "principal_angles", "return np.arccos(np.clip(cosines, -1.0, 1.0))",
      "return np.degrees(np.arccos(np.clip(cosines, -1.0, 1.0)))", loses=("principal_angles_test",)),
    W("principal_angles_descending", "principal_angles", "return np.arccos(np.clip(cosines, -1.0, 1.0))",
      "return np.arccos(np.clip(cosines[::-1], -1.0, 1.0))", loses=("principal_angles_test",)),
    # corruption
    W("blankout_in_place", "corruption", "return np.where(keep, x, 0).astype(x.dtype)",
      "x[~keep] = 0\n    return x", loses=("corruption_test",)),
    W("blankout_keeps_with_probability_p", "corruption", "keep = rng.random(x.shape) >= p",
      "keep = rng.random(x.shape) < p", loses=("corruption_test",)),
    # autoencoder
    W("autoencoder_relu_on_code_and_output", "autoencoder", "if i < len(sizes) - 2:", "if True:",
      loses=("autoencoder_test",)),
    # VAE
    W("reparameterize_std_as_exp_logvar", "reparameterize", "torch.exp(0.5 * logvar) * eps",
      "torch.exp(logvar) * eps", loses=("reparameterize_test",)),
    W("kl_wrong_sign", "gaussian_kl", "return 0.5 * (mu ** 2 + torch.exp(logvar) - 1.0 - logvar).sum(dim=-1)",
      "return -0.5 * (mu ** 2 + torch.exp(logvar) - 1.0 - logvar).sum(dim=-1)",
      loses=("gaussian_kl_test",), may_lose=("vae_loss_test",)),
    W("kl_averaged_over_latent_dimensions", "gaussian_kl", ").sum(dim=-1)", ").mean(dim=-1)",
      loses=("gaussian_kl_test",), may_lose=("vae_loss_test",)),
    W("vae_loss_averaged_over_pixels", "vae_loss", 'reduction="none").sum(dim=-1)', 'reduction="none").mean(dim=-1)',
      loses=("vae_loss_test",)),
]
