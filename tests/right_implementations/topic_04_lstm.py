"""Correct alternatives for assignment 04 (RNN and LSTM): see __init__.py."""
from right_implementations import RightImplementation as R

ASSIGNMENT = "04_lstm"

RIGHT = [
    # Exercises 1, 2 and 4: one product of the concatenation [x, h_prev] with the stacked [Wx; Wh] (another
    # parameterisation of the same step), dict caches, and a BPTT loop that stacks the dx of each step.
    R("rnn_step_concatenated_weights_dict_cache", cells={
        "rnn_step_forward": '''
def rnn_step_forward(x, h_prev, Wx, Wh, b):
    """h = tanh([x, h_prev] @ [Wx; Wh] + b)."""
    xh = np.concatenate([x, h_prev], axis=1)     # (N, D + H)
    W = np.vstack([Wx, Wh])                      # (D + H, H)
    h = np.tanh(xh @ W + b)
    return h, {"xh": xh, "W": W, "h": h, "D": x.shape[1]}
''',
        "rnn_step_backward": '''
def rnn_step_backward(dh, cache):
    """Gradients of the concatenated product, split back into the x and h_prev parts."""
    D = cache["D"]
    dz = dh * (1.0 - np.square(cache["h"]))
    dxh = dz @ cache["W"].T                      # (N, D + H)
    dW = cache["xh"].T @ dz                      # (D + H, H)
    return dxh[:, :D], dxh[:, D:], dW[:D], dW[D:], np.sum(dz, axis=0)
''',
        "rnn_backward": '''
def rnn_backward(dh, cache):
    """BPTT: the steps from last to first, weight gradients summed, dx stacked at the end."""
    T = dh.shape[1]
    dWx = dWh = db = 0.0
    dh_next = np.zeros_like(dh[:, 0])
    dxs = []
    for t in range(T - 1, -1, -1):
        dx_t, dh_next, dWx_t, dWh_t, db_t = rnn_step_backward(dh[:, t] + dh_next, cache[t])
        dxs.append(dx_t)
        dWx, dWh, db = dWx + dWx_t, dWh + dWh_t, db + db_t
    return np.stack(dxs[::-1], axis=1), dh_next, dWx, dWh, db
''',
    }),
    # Exercises 3 and 4 without the step functions: the input products of all steps at once, the cache the
    # inputs and the stacked states, and BPTT written out.
    R("rnn_sequence_own_bptt", cells={
        "rnn_forward": '''
def rnn_forward(x, h0, Wx, Wh, b):
    """All input products at once, then the recurrence; the cache keeps x, h0, the weights and h."""
    xw = x @ Wx                                   # (N, T, H)
    states, h_t = [], h0
    for t in range(x.shape[1]):
        h_t = np.tanh(xw[:, t] + h_t @ Wh + b)
        states.append(h_t)
    h = np.stack(states, axis=1)                  # (N, T, H)
    return h, (x, h0, Wx, Wh, h)
''',
        "rnn_backward": '''
def rnn_backward(dh, cache):
    """Backpropagation through time from the stored states."""
    x, h0, Wx, Wh, h = cache
    N, T, H = dh.shape
    dx = np.zeros(x.shape)
    dWx, dWh, db = np.zeros(Wx.shape), np.zeros(Wh.shape), np.zeros(H)
    dh_next = np.zeros((N, H))
    for t in reversed(range(T)):
        dz = (dh[:, t] + dh_next) * (1.0 - h[:, t] ** 2)
        h_prev = h[:, t - 1] if t > 0 else h0
        dx[:, t] = dz @ Wx.T
        dWx += x[:, t].T @ dz
        dWh += h_prev.T @ dz
        db += dz.sum(axis=0)
        dh_next = dz @ Wh.T
    return dx, dh_next, dWx, dWh, db
''',
    }),
    # Exercises 5 and 6: internally the gate columns are rearranged to (i, f, o, g), so that one sigmoid
    # covers the three gates; the public contract (PyTorch's order in Wx, Wh, b and their gradients) is kept.
    R("lstm_step_gates_in_ifog_order", cells={
        "lstm_step_forward": '''
def _ifog(H):
    """Column indices that rearrange PyTorch's blocks (i, f, g, o) as (i, f, o, g)."""
    return np.concatenate([np.arange(0, 2 * H), np.arange(3 * H, 4 * H), np.arange(2 * H, 3 * H)])


def lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b):
    """One LSTM step, computed with the gate columns in the order (i, f, o, g)."""
    H = h_prev.shape[1]
    order = _ifog(H)
    a = x @ Wx[:, order] + h_prev @ Wh[:, order] + b[order]     # (N, 4H): i, f, o, g
    ifo = sigmoid(a[:, :3 * H])
    g = np.tanh(a[:, 3 * H:])
    i, f, o = ifo[:, :H], ifo[:, H:2 * H], ifo[:, 2 * H:]
    c = f * c_prev + i * g
    tanh_c = np.tanh(c)
    return o * tanh_c, c, (x, h_prev, c_prev, Wx, Wh, ifo, g, tanh_c, order)
''',
        "lstm_step_backward": '''
def lstm_step_backward(dh, dc, cache):
    """Backward pass in the (i, f, o, g) layout, the gradient of a put back in PyTorch's order."""
    x, h_prev, c_prev, Wx, Wh, ifo, g, tanh_c, order = cache
    H = g.shape[1]
    i, f, o = ifo[:, :H], ifo[:, H:2 * H], ifo[:, 2 * H:]
    dc_total = dc + dh * o * (1.0 - tanh_c ** 2)
    d_ifo = np.concatenate([dc_total * g, dc_total * c_prev, dh * tanh_c], axis=1) * ifo * (1.0 - ifo)
    dg = dc_total * i * (1.0 - g ** 2)
    da = np.empty((x.shape[0], 4 * H))
    da[:, order] = np.concatenate([d_ifo, dg], axis=1)         # column k of the layout is column order[k]
    return da @ Wx.T, da @ Wh.T, dc_total * f, x.T @ da, h_prev.T @ da, da.sum(axis=0)
''',
    }),
    # Exercises 7 and 8 without the step functions: states and activated gates stored as arrays over time,
    # BPTT through both the hidden and the cell state written out.
    R("lstm_sequence_own_bptt_array_cache", cells={
        "lstm_forward": '''
def lstm_forward(x, h0, Wx, Wh, b):
    """LSTM over the sequence; the cache holds every state and gate as arrays over time."""
    N, T, D = x.shape
    H = h0.shape[1]
    hs, cs = np.zeros((N, T + 1, H)), np.zeros((N, T + 1, H))   # index 0 holds h0 and c0 = 0
    hs[:, 0] = h0
    gates = np.zeros((N, T, 4 * H))                             # activated i, f, g, o
    for t in range(T):
        a = x[:, t] @ Wx + hs[:, t] @ Wh + b
        gates[:, t, :2 * H] = sigmoid(a[:, :2 * H])
        gates[:, t, 2 * H:3 * H] = np.tanh(a[:, 2 * H:3 * H])
        gates[:, t, 3 * H:] = sigmoid(a[:, 3 * H:])
        i, f, g, o = np.split(gates[:, t], 4, axis=1)
        cs[:, t + 1] = f * cs[:, t] + i * g
        hs[:, t + 1] = o * np.tanh(cs[:, t + 1])
    return hs[:, 1:].copy(), {"x": x, "Wx": Wx, "Wh": Wh, "hs": hs, "cs": cs, "gates": gates}
''',
        "lstm_backward": '''
def lstm_backward(dh, cache):
    """BPTT through h and c from the stored arrays."""
    x, Wx, Wh, hs, cs, gates = (cache[k] for k in ("x", "Wx", "Wh", "hs", "cs", "gates"))
    N, T, H = dh.shape
    dx, dWx, dWh, db = np.zeros(x.shape), np.zeros(Wx.shape), np.zeros(Wh.shape), np.zeros(4 * H)
    dh_next, dc_next = np.zeros((N, H)), np.zeros((N, H))
    for t in reversed(range(T)):
        i, f, g, o = np.split(gates[:, t], 4, axis=1)
        tanh_c = np.tanh(cs[:, t + 1])
        dh_t = dh[:, t] + dh_next
        dc_t = dc_next + dh_t * o * (1.0 - tanh_c ** 2)
        da = np.hstack([dc_t * g * i * (1.0 - i), dc_t * cs[:, t] * f * (1.0 - f),
                        dc_t * i * (1.0 - g ** 2), dh_t * tanh_c * o * (1.0 - o)])
        dx[:, t] = da @ Wx.T
        dWx += x[:, t].T @ da
        dWh += hs[:, t].T @ da
        db += da.sum(axis=0)
        dh_next, dc_next = da @ Wh.T, dc_t * f
    return dx, dh_next, dWx, dWh, db
''',
    }),
]
