"""Wrong implementations of assignment 04 (recurrent networks and the LSTM): see __init__.py."""
from wrong_implementations import WrongImplementation as W

ASSIGNMENT = "04_lstm"
RUNAWAY = ("rnn_step_forward",
           ("rnn_step_forward_test", "rnn_step_backward_test", "rnn_forward_test", "rnn_backward_test"))

_RNN_AFTER_STEP = ("rnn_step_backward_test", "rnn_forward_test", "rnn_backward_test")
_LSTM_AFTER_STEP = ("lstm_step_backward_test", "lstm_forward_test", "lstm_backward_test")

WRONG = [
    # rnn_step_forward
    W("rnn_step_recurrent_weights_transposed", "rnn_step_forward", "np.tanh(x @ Wx + h_prev @ Wh + b)",
      "np.tanh(x @ Wx + h_prev @ Wh.T + b)",
      loses=("rnn_step_forward_test",), may_lose=_RNN_AFTER_STEP),
    W("rnn_step_without_tanh", "rnn_step_forward", "h = np.tanh(x @ Wx + h_prev @ Wh + b)",
      "h = x @ Wx + h_prev @ Wh + b", loses=("rnn_step_forward_test",), may_lose=_RNN_AFTER_STEP),
    # rnn_step_backward
    W("rnn_tanh_derivative_at_the_wrong_point", "rnn_step_backward", "dz = dh * (1.0 - h ** 2)",
      "dz = dh * (1.0 - np.tanh(h) ** 2)", loses=("rnn_step_backward_test",), may_lose=("rnn_backward_test",)),
    W("rnn_dh_prev_without_Wh_transpose", "rnn_step_backward", "dh_prev = dz @ Wh.T", "dh_prev = dz @ Wh",
      loses=("rnn_step_backward_test",), may_lose=("rnn_backward_test",)),
    W("rnn_bias_gradient_averaged_over_batch", "rnn_step_backward", "db = dz.sum(axis=0)", "db = dz.mean(axis=0)",
      loses=("rnn_step_backward_test",), may_lose=("rnn_backward_test",)),
    # rnn_forward
    W("rnn_time_loop_off_by_one", "rnn_forward", "for t in range(T):", "for t in range(1, T):",
      loses=("rnn_forward_test",), may_lose=("rnn_backward_test",)),
    W("rnn_every_step_from_h0", "rnn_forward", "rnn_step_forward(x[:, t], h_t, Wx, Wh, b)",
      "rnn_step_forward(x[:, t], h0, Wx, Wh, b)", loses=("rnn_forward_test",), may_lose=("rnn_backward_test",)),
    # rnn_backward
    W("rnn_bptt_missing_dh_from_next_step", "rnn_backward", "rnn_step_backward(dh[:, t] + dh_prev, cache[t])",
      "rnn_step_backward(dh[:, t], cache[t])", loses=("rnn_backward_test",)),
    W("rnn_shared_weight_gradients_not_accumulated", "rnn_backward", "dWx += dWx_t\n        dWh += dWh_t",
      "dWx = dWx_t\n        dWh = dWh_t", loses=("rnn_backward_test",)),
    # lstm_step_forward
    W("lstm_gates_in_ifog_order", "lstm_step_forward",
      "g = np.tanh(a[:, 2 * H:3 * H])\n    o = sigmoid(a[:, 3 * H:])",
      "o = sigmoid(a[:, 2 * H:3 * H])\n    g = np.tanh(a[:, 3 * H:])",
      loses=("lstm_step_forward_test",), may_lose=_LSTM_AFTER_STEP),
    W("lstm_forget_gate_on_the_candidate", "lstm_step_forward", "c = f * c_prev + i * g", "c = i * c_prev + f * g",
      loses=("lstm_step_forward_test",), may_lose=_LSTM_AFTER_STEP),
    W("lstm_h_from_c_before_the_update", "lstm_step_forward", "tanh_c = np.tanh(c)", "tanh_c = np.tanh(c_prev)",
      loses=("lstm_step_forward_test",), may_lose=_LSTM_AFTER_STEP),
    W("lstm_candidate_through_sigmoid", "lstm_step_forward", "g = np.tanh(a[:, 2 * H:3 * H])",
      "g = sigmoid(a[:, 2 * H:3 * H])", loses=("lstm_step_forward_test",), may_lose=_LSTM_AFTER_STEP),
    W("lstm_step_through_torch", "lstm_step_forward", "a = x @ Wx + h_prev @ Wh + b",   # right values, NumPy-only
      "a = (torch.as_tensor(x) @ torch.as_tensor(Wx) + torch.as_tensor(h_prev) @ torch.as_tensor(Wh)\n"
      "         + torch.as_tensor(b)).numpy()",
      loses=("lstm_step_forward_test",), may_lose=_LSTM_AFTER_STEP),
    # lstm_step_backward
    W("lstm_cell_gradient_ignores_h", "lstm_step_backward", "dc_total = dc + dh * o * (1.0 - tanh_c ** 2)",
      "dc_total = dc", loses=("lstm_step_backward_test",), may_lose=("lstm_backward_test",)),
    W("lstm_output_gate_gradient_from_cell_gradient", "lstm_step_backward", "dc_total * i, dh * tanh_c",
      "dc_total * i, dc_total * tanh_c", loses=("lstm_step_backward_test",), may_lose=("lstm_backward_test",)),
    W("lstm_dc_prev_not_through_forget_gate", "lstm_step_backward", "dc_prev = dc_total * f",
      "dc_prev = dc_total", loses=("lstm_step_backward_test",), may_lose=("lstm_backward_test",)),
    # lstm_forward
    W("lstm_c0_not_zero", "lstm_forward", "h_t, c_t = h0, np.zeros((N, H))", "h_t, c_t = h0, h0",
      loses=("lstm_forward_test",), may_lose=("lstm_backward_test",)),
    W("lstm_time_loop_off_by_one", "lstm_forward", "for t in range(T):", "for t in range(T - 1):",
      loses=("lstm_forward_test",), may_lose=("lstm_backward_test",)),
    # lstm_backward
    W("lstm_cell_gradient_not_carried_back", "lstm_backward",
      "lstm_step_backward(dh[:, t] + dh_prev, dc_prev, cache[t])",
      "lstm_step_backward(dh[:, t] + dh_prev, np.zeros((N, H)), cache[t])", loses=("lstm_backward_test",)),
    W("lstm_bptt_missing_dh_from_next_step", "lstm_backward",
      "lstm_step_backward(dh[:, t] + dh_prev, dc_prev, cache[t])",
      "lstm_step_backward(dh[:, t], dc_prev, cache[t])", loses=("lstm_backward_test",)),
    W("lstm_shared_weight_gradients_not_accumulated", "lstm_backward", "dWh += dWh_t", "dWh = dWh_t",
      loses=("lstm_backward_test",)),
]
