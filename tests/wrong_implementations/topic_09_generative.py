"""Wrong implementations of assignment 09 (generative models, GANs, normalising flows and diffusion): see __init__.py.

Time is 0-indexed: alpha_bar[t] includes the factor 1 - beta[t]. ddpm_loss calls the student's q_sample, so a
wrong q_sample may also cost ddpm_loss's points (may_lose).
"""
from wrong_implementations import WrongImplementation as W

ASSIGNMENT = "09_generative"
RUNAWAY = ("gan_theory", ("gan_theory_test",))

_DISC = "return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()"
_Q_SAMPLE = "return torch.sqrt(ab) * x0 + torch.sqrt(1 - ab) * noise"

WRONG = [
    # GAN losses
    W("discriminator_loss_naive_log_sigmoid", "discriminator_loss", _DISC,
      "return -torch.log(torch.sigmoid(real_logits)).mean() - torch.log(1 - torch.sigmoid(fake_logits)).mean()",
      loses=("discriminator_loss_test",)),
    W("discriminator_loss_labels_swapped", "discriminator_loss", _DISC,
      "return F.softplus(real_logits).mean() + F.softplus(-fake_logits).mean()", loses=("discriminator_loss_test",)),
    W("discriminator_loss_sum_instead_of_mean", "discriminator_loss", _DISC,
      "return F.softplus(-real_logits).sum() + F.softplus(fake_logits).sum()", loses=("discriminator_loss_test",)),
    W("discriminator_loss_one_mean_over_both", "discriminator_loss", _DISC,
      "return torch.cat([F.softplus(-real_logits).reshape(-1), F.softplus(fake_logits).reshape(-1)]).mean() * 2",
      loses=("discriminator_loss_test",)),
    W("generator_loss_minimax_sign_wrong", "generator_loss", "return -F.softplus(fake_logits).mean()",
      "return F.softplus(fake_logits).mean()", loses=("generator_loss_test",)),
    W("generator_loss_minimax_naive_log", "generator_loss", "return -F.softplus(fake_logits).mean()",
      "return torch.log(1 - torch.sigmoid(fake_logits)).mean()", loses=("generator_loss_test",)),
    W("generator_loss_no_value_error", "generator_loss",
      "raise ValueError(f\"kind must be 'non_saturating' or 'minimax', got {kind!r}\")",
      "return F.softplus(-fake_logits).mean()", loses=("generator_loss_test",)),
    # optimal discriminator and Jensen-Shannon
    W("optimal_discriminator_nan_at_0_0", "gan_theory",
      "return np.where(total > 0, p_data / np.where(total > 0, total, 1.0), 0.5)", "return p_data / total",
      loses=("gan_theory_test",)),
    W("js_divergence_in_bits", "gan_theory", "return float(0.5 * kl_to_m(p) + 0.5 * kl_to_m(q))",
      "return float(0.5 * kl_to_m(p) + 0.5 * kl_to_m(q)) / np.log(2.0)", loses=("gan_theory_test",)),
    W("js_divergence_not_normalised", "gan_theory", "p, q = p / p.sum(), q / q.sum()", "p, q = p, q",
      loses=("gan_theory_test",)),
    W("js_divergence_0_log_0_is_nan", "gan_theory",
      "support = a > 0                         # 0 log 0 = 0; m > 0 wherever a > 0\n"
      "        return np.sum(a[support] * np.log(a[support] / m[support]))",
      "return np.sum(a * np.log(a / m))", loses=("gan_theory_test",)),
    W("js_divergence_kl_not_halved", "gan_theory", "return float(0.5 * kl_to_m(p) + 0.5 * kl_to_m(q))",
      "return float(kl_to_m(p) + kl_to_m(q))", loses=("gan_theory_test",)),
    # affine coupling and the flow's likelihood
    W("coupling_s_and_t_from_x", "affine_coupling", "s, t = s_net(kept), t_net(kept)", "s, t = s_net(x), t_net(x)",
      loses=("affine_coupling_test",)),
    W("coupling_log_det_not_masked", "affine_coupling",
      "log_det = ((1 - mask) * s).reshape(x.shape[0], -1).sum(dim=1)", "log_det = s.reshape(x.shape[0], -1).sum(dim=1)",
      loses=("affine_coupling_test",)),
    W("coupling_log_det_last_dimension_only", "affine_coupling",
      "log_det = ((1 - mask) * s).reshape(x.shape[0], -1).sum(dim=1)", "log_det = ((1 - mask) * s).sum(dim=-1)",
      loses=("affine_coupling_test",)),
    W("coupling_reverse_log_det_not_negated", "affine_coupling", "return y, -log_det if reverse else log_det",
      "return y, log_det", loses=("affine_coupling_test",)),
    W("coupling_reverse_shift_after_scale", "affine_coupling", "y = kept + (1 - mask) * ((x - t) * torch.exp(-s))",
      "y = kept + (1 - mask) * (x * torch.exp(-s) - t)", loses=("affine_coupling_test",)),
    W("coupling_computed_in_numpy", "affine_coupling", "y = kept + (1 - mask) * (x * torch.exp(s) + t)",
      "y = kept + (1 - mask) * torch.from_numpy(x.detach().numpy() * np.exp(s.detach().numpy())) + (1 - mask) * t",
      loses=("affine_coupling_test",)),
    W("flow_log_prob_without_2_pi", "flow_log_prob",
      "return -0.5 * (z ** 2).sum(dim=1) - 0.5 * d * np.log(2 * np.pi) + log_det",
      "return -0.5 * (z ** 2).sum(dim=1) + log_det", loses=("flow_log_prob_test",)),
    W("flow_log_prob_d_from_last_dimension", "flow_log_prob", "z = z.reshape(z.shape[0], -1)\n    d = z.shape[1]",
      "d = z.shape[-1]\n    z = z.reshape(z.shape[0], -1)", loses=("flow_log_prob_test",)),
    W("flow_log_prob_log_det_subtracted", "flow_log_prob", "- 0.5 * d * np.log(2 * np.pi) + log_det",
      "- 0.5 * d * np.log(2 * np.pi) - log_det", loses=("flow_log_prob_test",)),
    # noise schedule
    W("alpha_bars_one_indexed", "noise_schedule", "return torch.cumprod(1.0 - betas, dim=0)",
      "return torch.cat([torch.ones(1, dtype=betas.dtype), torch.cumprod(1.0 - betas, dim=0)[:-1]])",
      loses=("noise_schedule_test",)),
    W("linear_schedule_misses_beta_T", "noise_schedule",
      "return torch.linspace(beta_1, beta_T, T, dtype=torch.float64)",
      "return beta_1 + (beta_T - beta_1) * torch.arange(T, dtype=torch.float64) / T", loses=("noise_schedule_test",)),
    W("linear_schedule_float32", "noise_schedule", "return torch.linspace(beta_1, beta_T, T, dtype=torch.float64)",
      "return torch.linspace(beta_1, beta_T, T)", loses=("noise_schedule_test",)),
    # forward process and loss
    W("q_sample_without_square_roots", "q_sample", _Q_SAMPLE, "return ab * x0 + (1 - ab) * noise",
      loses=("q_sample_test",), may_lose=("ddpm_loss_test",)),
    W("q_sample_previous_step", "q_sample", "ab = alpha_bar[t].to(x0.dtype)", "ab = alpha_bar[t - 1].to(x0.dtype)",
      loses=("q_sample_test",), may_lose=("ddpm_loss_test",)),
    W("q_sample_noise_scaled_in_place", "q_sample", _Q_SAMPLE,
      "noise.mul_(torch.sqrt(1 - ab))\n    return torch.sqrt(ab) * x0 + noise",
      loses=("q_sample_test",), may_lose=("ddpm_loss_test",)),
    W("ddpm_loss_summed_over_coordinates", "ddpm_loss", "return ((eps_model(xt, t) - noise) ** 2).mean()",
      "return ((eps_model(xt, t) - noise) ** 2).reshape(len(noise), -1).sum(dim=1).mean()", loses=("ddpm_loss_test",)),
    W("ddpm_loss_model_sees_x0", "ddpm_loss", "return ((eps_model(xt, t) - noise) ** 2).mean()",
      "return ((eps_model(x0, t) - noise) ** 2).mean()", loses=("ddpm_loss_test",)),
    # posterior and sampling
    W("q_posterior_variance_beta_t", "q_posterior", "variance = (1 - ab_prev) / (1 - ab) * beta", "variance = beta",
      loses=("q_posterior_test",)),
    W("q_posterior_x0_coefficient_with_alpha_bar_t", "q_posterior",
      "mean = (torch.sqrt(ab_prev) * beta / (1 - ab)) * x0",
      "mean = (torch.sqrt(ab) * beta / (1 - ab)) * x0", loses=("q_posterior_test",)),
    W("q_posterior_one_indexed", "q_posterior", "ab_prev = alpha_bar[t - 1]", "ab_prev = alpha_bar[t - 2]",
      loses=("q_posterior_test",)),
    W("p_sample_step_noise_at_t_0", "p_sample_step", "noisy = (t > 0).to(xt.dtype).reshape(shape)",
      "noisy = torch.ones(len(t), dtype=xt.dtype).reshape(shape)", loses=("p_sample_step_test",)),
    W("p_sample_step_model_gets_t_plus_1", "p_sample_step", "eps_model(xt, t)) / torch.sqrt(1 - beta)",
      "eps_model(xt, t + 1)) / torch.sqrt(1 - beta)", loses=("p_sample_step_test",)),
    W("p_sample_step_eps_scaled_by_sqrt_beta", "p_sample_step", "beta / torch.sqrt(1 - ab) * eps_model(xt, t)",
      "torch.sqrt(beta) * eps_model(xt, t)", loses=("p_sample_step_test",)),
    W("p_sample_step_sigma_beta_tilde", "p_sample_step", "return mean + noisy * torch.sqrt(beta) * z",
      "return mean + noisy * torch.sqrt(beta * (1 - ab / (1 - beta)) / (1 - ab)) * z", loses=("p_sample_step_test",)),
]
