"""Correct alternatives for assignment 09 (generative models): see __init__.py."""
from right_implementations import RightImplementation as R

ASSIGNMENT = "09_generative"

RIGHT = [
    # Exercises 1 and 2 with logsigmoid and binary_cross_entropy_with_logits instead of softplus; the kind checked
    # with a dict of functions.
    R("gan_losses_logsigmoid_and_bce", cells={
        "discriminator_loss": '''
def discriminator_loss(real_logits, fake_logits):
    """-log D on data, -log(1 - D) on samples, each averaged over its batch: log(1 - sigmoid(l)) = logsigmoid(-l)."""
    return -(F.logsigmoid(real_logits).mean() + F.logsigmoid(-fake_logits).mean())
''',
        "generator_loss": '''
def generator_loss(fake_logits, kind="non_saturating"):
    """The mean of -log D(G(z)) or of log(1 - D(G(z))), from logits."""
    losses = {
        "non_saturating": lambda l: F.binary_cross_entropy_with_logits(l, torch.ones_like(l)),
        "minimax": lambda l: -F.binary_cross_entropy_with_logits(l, torch.zeros_like(l)),
    }
    if kind not in losses:
        raise ValueError("unknown kind: " + repr(kind))
    return losses[kind](fake_logits)
''',
    }),
    # Exercise 3 with scipy's xlogy (0 log 0 = 0 built in) and a division under np.errstate, NaNs replaced after.
    R("gan_theory_xlogy_and_errstate", cells={
        "gan_theory": '''
from scipy.special import xlogy


def optimal_discriminator(p_data, p_model):
    """p_data / (p_data + p_model); the 0 / 0 entries (NaN) become 0.5."""
    p_data, p_model = np.asarray(p_data, dtype=float), np.asarray(p_model, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = p_data / (p_data + p_model)
    ratio[np.isnan(ratio)] = 0.5
    return ratio


def js_divergence(p, q):
    """JS = H(m) - (H(p) + H(q)) / 2 with entropies in nats, xlogy(0, 0) = 0."""
    p = np.asarray(p, dtype=float) / np.sum(p)
    q = np.asarray(q, dtype=float) / np.sum(q)
    m = (p + q) / 2

    def entropy(a):
        return -np.sum(xlogy(a, a))

    return max(entropy(m) - (entropy(p) + entropy(q)) / 2, 0.0)
''',
    }),
    # Exercises 4 and 5: torch.where on a boolean mask, the inverse written as a division, the log-determinant
    # by flatten; the base density from torch.distributions.Normal.
    R("coupling_where_and_normal_log_prob", cells={
        "affine_coupling": '''
def affine_coupling(x, mask, s_net, t_net, reverse=False):
    """Coordinates where mask is 1 pass through; the others are scaled and shifted (or unshifted and unscaled)."""
    conditioner = x * mask
    s = s_net(conditioner)
    t = t_net(conditioner)
    keep = torch.broadcast_to(mask, x.shape).bool()
    if not reverse:
        out = torch.where(keep, x, x * s.exp() + t)
        sign = 1.0
    else:
        out = torch.where(keep, x, (x - t) / s.exp())
        sign = -1.0
    per_example = torch.where(keep, torch.zeros_like(s), s).flatten(start_dim=1).sum(dim=1)
    return out, sign * per_example
''',
        "flow_log_prob": '''
def flow_log_prob(z, log_det):
    """Sum of standard normal log-densities of every entry, plus the log-determinant."""
    base = torch.distributions.Normal(torch.zeros((), dtype=z.dtype), torch.ones((), dtype=z.dtype))
    return base.log_prob(z).flatten(start_dim=1).sum(dim=1) + log_det
''',
    }),
    # Exercises 6 to 8: the schedule by arange, alpha_bar in log space, q_sample by gather and view, the loss by
    # F.mse_loss.
    R("schedule_log_space_and_mse_loss", cells={
        "noise_schedule": '''
def linear_beta_schedule(T, beta_1=1e-4, beta_T=0.02):
    """beta_1 + (beta_T - beta_1) k / (T - 1), k = 0..T-1."""
    k = torch.arange(T, dtype=torch.float64)
    return beta_1 + (beta_T - beta_1) * k / (T - 1)


def alpha_bars(betas):
    """exp of the running sum of log(1 - beta)."""
    return torch.exp(torch.cumsum(torch.log1p(-betas), dim=0))
''',
        "q_sample": '''
def q_sample(x0, t, noise, alpha_bar):
    """sqrt(alpha_bar_t) x0 + sqrt(1 - alpha_bar_t) noise, alpha_bar_t gathered per example."""
    a = torch.gather(alpha_bar, 0, t).to(x0.dtype).view([len(t)] + [1] * (x0.ndim - 1))
    return a.sqrt() * x0 + (1 - a).sqrt() * noise
''',
        "ddpm_loss": '''
def ddpm_loss(eps_model, x0, t, noise, alpha_bar):
    """F.mse_loss (mean over every element) between the predicted and the true noise."""
    predicted = eps_model(q_sample(x0, t, noise, alpha_bar), t)
    return F.mse_loss(predicted, noise)
''',
    }),
    # Exercises 9 and 10: the posterior in precision form (the variance a (B, 1, ...) tensor), and the sampling
    # step through the estimate of x0 and the posterior mean (alpha_bar before step 0 taken as 1).
    R("posterior_precision_form_and_x0_route", cells={
        "q_posterior": '''
def q_posterior(x0, xt, t, betas, alpha_bar):
    """Product of q(x_t | x_{t-1}) and q(x_{t-1} | x_0): precisions add, means weighted by precision."""
    view = [len(t)] + [1] * (xt.ndim - 1)
    b = betas[t].view(view).to(xt.dtype)
    prev = alpha_bar[t - 1].view(view).to(xt.dtype)
    variance = 1.0 / (1.0 / (1.0 - prev) + (1.0 - b) / b)
    mean = variance * (prev.sqrt() * x0 / (1.0 - prev) + (1.0 - b).sqrt() * xt / b)
    return mean, variance
''',
        "p_sample_step": '''
def p_sample_step(eps_model, xt, t, betas, alpha_bar, z):
    """x0_hat from the predicted noise, then the posterior mean at x0_hat, then sqrt(beta_t) z where t > 0."""
    view = [len(t)] + [1] * (xt.ndim - 1)
    eps = eps_model(xt, t)
    b = betas[t].view(view).to(xt.dtype)
    a = alpha_bar[t].view(view).to(xt.dtype)
    a_prev = torch.where(t > 0, alpha_bar[(t - 1).clamp(min=0)], torch.ones_like(alpha_bar[t])).view(view).to(xt.dtype)
    x0_hat = (xt - (1 - a).sqrt() * eps) / a.sqrt()
    mean = a_prev.sqrt() * b / (1 - a) * x0_hat + (1 - b).sqrt() * (1 - a_prev) / (1 - a) * xt
    out = mean.clone()
    out[t > 0] = out[t > 0] + (b.sqrt() * z)[t > 0]
    return out
''',
    }),
    # Added by the review. Exercises 1 and 2 written out by hand: max(-l, 0) + log1p(exp(-|l|)) and logaddexp;
    # an if/elif chain for the kind.
    R("gan_losses_by_hand_and_logaddexp", cells={
        "discriminator_loss": '''
def discriminator_loss(real_logits, fake_logits):
    """-log sigmoid(l) = max(-l, 0) + log(1 + exp(-|l|)); -log(1 - sigmoid(l)) = max(l, 0) + log(1 + exp(-|l|))."""
    real_term = torch.clamp(-real_logits, min=0) + torch.log1p(torch.exp(-real_logits.abs()))
    fake_term = torch.clamp(fake_logits, min=0) + torch.log1p(torch.exp(-fake_logits.abs()))
    return real_term.mean() + fake_term.mean()
''',
        "generator_loss": '''
def generator_loss(fake_logits, kind="non_saturating"):
    """-log D = logaddexp(0, -l); log(1 - D) = -logaddexp(0, l)."""
    zero = torch.zeros_like(fake_logits)
    if kind == "non_saturating":
        loss = torch.logaddexp(zero, -fake_logits)
    elif kind == "minimax":
        loss = -torch.logaddexp(zero, fake_logits)
    else:
        raise ValueError(f"unknown generator loss {kind}")
    return torch.mean(loss)
''',
    }),
    # Exercise 3 with np.divide(where=...) and masked logarithms under np.errstate.
    R("gan_theory_divide_where_and_masked_logs", cells={
        "gan_theory": '''
def optimal_discriminator(p_data, p_model):
    """p_data / (p_data + p_model), filled with 0.5 where the sum is 0."""
    p_data = np.asarray(p_data).astype(np.float64)
    total = p_data + np.asarray(p_model)
    return np.divide(p_data, total, out=np.full(total.shape, 0.5), where=total != 0)


def js_divergence(p, q):
    """KL of each to the mixture, terms with a zero weight dropped by np.where."""
    p = np.asarray(p, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    p = p / p.sum()
    q = q / q.sum()
    m = (p + q) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        kl_p = np.where(p > 0, p * np.log(p / m), 0.0).sum()
        kl_q = np.where(q > 0, q * np.log(q / m), 0.0).sum()
    return (kl_p + kl_q) / 2
''',
    }),
    # Exercises 4 and 5: arithmetic masking with the mask expanded first, the inverse by exp(-s), the sum over a
    # tuple of dimensions; the base density by hand with math.log and numel.
    R("coupling_expanded_mask_and_dim_tuple", cells={
        "affine_coupling": '''
def affine_coupling(x, mask, s_net, t_net, reverse=False):
    """Affine coupling with log-determinant; the reverse undoes the shift, then the scale."""
    b = mask.expand_as(x)
    h = x * b
    s = s_net(h)
    t = t_net(h)
    dims = tuple(range(1, x.dim()))
    if reverse:
        return h + (1 - b) * (x - t) * torch.exp(-s), -torch.sum((1 - b) * s, dim=dims)
    return h + (1 - b) * (torch.exp(s) * x + t), torch.sum((1 - b) * s, dim=dims)
''',
        "flow_log_prob": '''
import math


def flow_log_prob(z, log_det):
    """-||z||^2 / 2 - (d / 2) log(2 pi) + log_det, d the entries of one example."""
    d = z[0].numel()
    return -0.5 * z.pow(2).flatten(1).sum(1) - 0.5 * d * math.log(2 * math.pi) + log_det
''',
    }),
    # Exercises 6 to 8: the schedule from np.linspace, alpha_bar by a running product in a loop, the loss with
    # x_t written inline.
    R("schedule_numpy_linspace_and_product_loop", cells={
        "noise_schedule": '''
def linear_beta_schedule(T, beta_1=1e-4, beta_T=0.02):
    """np.linspace, as a float64 tensor."""
    return torch.tensor(np.linspace(beta_1, beta_T, T), dtype=torch.float64)


def alpha_bars(betas):
    """A running product, one step at a time."""
    out = torch.empty_like(betas)
    running = torch.ones((), dtype=betas.dtype)
    for i in range(len(betas)):
        running = running * (1 - betas[i])
        out[i] = running
    return out
''',
        "ddpm_loss": '''
def ddpm_loss(eps_model, x0, t, noise, alpha_bar):
    """Squared error of the noise prediction, averaged over every element."""
    a = alpha_bar[t].to(x0.dtype)
    a = a.reshape(a.shape + (1,) * (x0.dim() - 1))
    xt = a ** 0.5 * x0 + (1 - a) ** 0.5 * noise
    return torch.mean(torch.square(eps_model(xt, t) - noise))
''',
    }),
    # Exercises 9 and 10: the posterior mean through the noise that x_0 implies, alpha_bar[t - 1] recovered as
    # alpha_bar[t] / (1 - beta[t]); the step with sigma = beta ** 0.5 and torch.where on t > 0.
    R("posterior_via_eps_and_step_with_where", cells={
        "q_posterior": '''
def q_posterior(x0, xt, t, betas, alpha_bar):
    """mean = (x_t - beta / sqrt(1 - alpha_bar) eps) / sqrt(alpha), with eps the noise that x0 implies."""
    shape = (len(t),) + (1,) * (xt.dim() - 1)
    beta = betas[t].to(xt.dtype).reshape(shape)
    ab = alpha_bar[t].to(xt.dtype).reshape(shape)
    ab_prev = ab / (1 - beta)
    eps = (xt - ab.sqrt() * x0) / (1 - ab).sqrt()
    mean = (xt - beta / (1 - ab).sqrt() * eps) / (1 - beta).sqrt()
    return mean, beta * (1 - ab_prev) / (1 - ab)
''',
        "p_sample_step": '''
def p_sample_step(eps_model, xt, t, betas, alpha_bar, z):
    """The DDPM step; torch.where keeps the mean where t = 0."""
    shape = (len(t),) + (1,) * (xt.dim() - 1)
    beta = betas[t].to(xt.dtype).reshape(shape)
    alpha = 1 - beta
    ab = alpha_bar[t].to(xt.dtype).reshape(shape)
    mean = (xt - (1 - alpha) / (1 - ab) ** 0.5 * eps_model(xt, t)) / alpha ** 0.5
    return torch.where((t > 0).reshape(shape), mean + beta ** 0.5 * z, mean)
''',
    }),
    # Exercise 7 with index_select and float32 arithmetic throughout for float32 x0.
    R("q_sample_index_select", cells={
        "q_sample": '''
def q_sample(x0, t, noise, alpha_bar):
    """Gather alpha_bar at each example's step, cast to x0's dtype, broadcast over the rest."""
    a = alpha_bar.index_select(0, t).to(dtype=x0.dtype)
    while a.dim() < x0.dim():
        a = a.unsqueeze(-1)
    return torch.sqrt(a) * x0 + torch.sqrt(1.0 - a) * noise
''',
    }),
]
