"""cuda:N, kept devices, and refusals that name both devices (on a GPU or the stand-in)."""

from __future__ import annotations

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F
from minigrad import nn

pytestmark = pytest.mark.skipif(mg.cuda.device_count() < 2, reason="needs two GPUs (or the stand-in)")


def test_cuda_1_allocates_computes_and_trains_there() -> None:
    for t in (mg.zeros(2, device="cuda:1"), mg.randn(2, device="cuda:1"),
              mg.arange(3, device="cuda:1"), mg.full((2,), 1.5, device="cuda:1"),
              mg.ones(2).to("cuda:1") * 2):
        assert t.device == "cuda:1"
    np.testing.assert_array_equal((mg.ones(2).to("cuda:1") * 2).numpy(), [2.0, 2.0])
    lstm = nn.LSTM(3, 4, device="cuda:1")
    assert {p.device for p in lstm.parameters()} == {"cuda:1"}
    assert nn.Linear(2, 2, device="cuda:1").weight.device == "cuda:1"
    out, _ = lstm(mg.randn(5, 2, 3, device="cuda:1"))
    out.sum().backward()
    assert {p.grad.device for p in lstm.parameters()} == {"cuda:1"}


def test_tensor_of_a_tensor_keeps_its_device() -> None:
    t = mg.ones(2, device="cuda:1")
    copy = mg.tensor(t)
    assert copy.device == "cuda:1" and copy.data is not t.data
    assert mg.tensor(t, device="cpu").device == "cpu"


@pytest.mark.parametrize("call", [
    lambda x, cpu: x[mg.tensor([0, 1])],
    lambda x, cpu: mg.where(cpu > 0, x, 0.0),
    lambda x, cpu: x.masked_fill(cpu > 0, 0.0),
    lambda x, cpu: (x * 2).sum(0).backward(mg.ones(3)),
    lambda x, cpu: mg.autograd.grad((x * 2).sum(0), x, mg.ones(3)),
    lambda x, cpu: F.cross_entropy(x, mg.tensor([0, 1])),
    lambda x, cpu: F.embedding(mg.tensor([0, 1]), x),
], ids=["index", "where", "masked_fill", "backward", "grad", "cross_entropy", "embedding"])
def test_other_device_inputs_are_refused_naming_both(call) -> None:  # noqa: ANN001
    x = mg.randn(2, 3, device="cuda", requires_grad=True)
    cpu = mg.randn(2, 3)
    with pytest.raises(RuntimeError, match=r"cpu.*cuda|cuda.*cpu") as err:
        call(x, cpu)
    assert "Unsupported type" not in str(err.value)  # minigrad's error, not CuPy's
    assert x.grad is None


@pytest.mark.parametrize("opt_cls", [mg.optim.Adam, lambda ps: mg.optim.SGD(ps, 0.1, momentum=0.9)])
def test_optimizer_state_follows_a_moved_module(opt_cls) -> None:  # noqa: ANN001
    def run(device_after: str) -> np.ndarray:
        mg.manual_seed(0)
        model = nn.Linear(3, 2, dtype=np.float64)
        opt = opt_cls(model.parameters())
        x = mg.randn(4, 3, dtype=np.float64)
        for step in range(3):
            if step == 1:
                model.to(device_after)
                x = x.to(device_after)
            opt.zero_grad()
            model(x).sum().backward()
            opt.step()
        assert all(backend_dev == device_after for backend_dev in
                   {mg.backend.device_of(v) for s in opt.state.values() for v in s.values()
                    if mg.backend.is_array(v)})
        return model.weight.numpy()

    np.testing.assert_allclose(run("cuda:1"), run("cpu"), rtol=1e-12)


def test_out_of_range_targets_raise_on_cpu_and_poison_the_loss_on_gpu() -> None:
    logits = np.random.default_rng(0).standard_normal((2, 3))
    with pytest.raises(IndexError, match="out of range"):
        F.cross_entropy(mg.tensor(logits), mg.tensor([0, 5]))
    loss = F.cross_entropy(mg.tensor(logits, device="cuda"), mg.tensor([0, 5], device="cuda"))
    assert np.isnan(loss.item())
    rows = F.embedding(mg.tensor([1, 9], device="cuda"), mg.ones(3, 2, device="cuda"))
    assert np.isnan(rows.numpy()[1]).all() and not np.isnan(rows.numpy()[0]).any()
