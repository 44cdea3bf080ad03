"""SGD, Adam, AdamW: PyTorch trajectories, param groups, state dicts, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F
from minigrad.optim import SGD, Adam, AdamW

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "nn_optim.npz"
with np.load(FIXTURE, allow_pickle=False) as _f:
    REF = {k: _f[k] for k in _f.files}
NAMES = ("w1", "b1", "w2", "b2")
STEPS = 6
CASES = {
    "sgd": (SGD, {"lr": 0.1}),
    "sgd_momentum": (SGD, {"lr": 0.05, "momentum": 0.9}),
    "sgd_dampening": (SGD, {"lr": 0.05, "momentum": 0.8, "dampening": 0.5}),
    "sgd_nesterov": (SGD, {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
    "sgd_wd": (SGD, {"lr": 0.05, "momentum": 0.5, "weight_decay": 0.1}),
    "adam": (Adam, {"lr": 0.01}),
    "adam_betas_wd": (Adam, {"lr": 0.02, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.05}),
    "adam_amsgrad": (Adam, {"lr": 0.01, "amsgrad": True}),
    "adamw": (AdamW, {"lr": 0.01}),
    "adamw_amsgrad": (AdamW, {"lr": 0.02, "weight_decay": 0.1, "amsgrad": True}),
}


def _params(dtype: type = np.float64) -> list[mg.Tensor]:
    return [mg.tensor(REF[f"init__{n}"], dtype=dtype, requires_grad=True) for n in NAMES]


def _loss(params: list[mg.Tensor]) -> mg.Tensor:
    w1, b1, w2, b2 = params
    dtype = w1.dtype
    x, y = mg.tensor(REF["x"], dtype=dtype), mg.tensor(REF["y"], dtype=dtype)
    return F.mse_loss((x @ w1.T + b1).tanh() @ w2.T + b2, y)


def _train(opt: mg.optim.Optimizer, params: list[mg.Tensor], steps: int) -> list[float]:
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = _loss(params)
        loss.backward()
        losses.append(loss.item())
        opt.step()
    return losses


@pytest.mark.parametrize("case", sorted(CASES))
def test_trajectory_matches_pytorch(case: str) -> None:
    cls, kwargs = CASES[case]
    params = _params()
    opt = cls(params, **kwargs)
    for step in range(STEPS):
        for name, p in zip(NAMES, params):
            np.testing.assert_allclose(
                p.numpy(),
                REF[f"{case}__{name}_step{step}"],
                rtol=1e-7,
                atol=1e-12,
                err_msg=f"{case} {name} before step {step + 1}",
            )
        loss = _train(opt, params, 1)[0]
        assert loss == pytest.approx(float(REF[f"{case}__loss_step{step}"]), rel=1e-7)
    for name, p in zip(NAMES, params):
        np.testing.assert_allclose(
            p.numpy(), REF[f"{case}__{name}_step{STEPS}"], rtol=1e-7, atol=1e-12
        )


@pytest.mark.parametrize(
    ("case", "cls", "extra"), [("groups_sgd", SGD, {"momentum": 0.9}), ("groups_adam", Adam, {})]
)
def test_param_groups_match_pytorch(case: str, cls: type, extra: dict) -> None:
    params = _params()
    groups = [
        {"params": params[:2], "lr": 0.1, "weight_decay": 0.01},
        {"params": params[2:], "lr": 0.01},
    ]
    opt = cls(groups, lr=0.05, **extra)
    assert opt.param_groups[1]["weight_decay"] == 0 and opt.param_groups[0]["lr"] == 0.1
    _train(opt, params, STEPS)
    for name, p in zip(NAMES, params):
        np.testing.assert_allclose(
            p.numpy(), REF[f"{case}__{name}_step{STEPS}"], rtol=1e-7, atol=1e-12
        )


def test_add_param_group_takes_defaults() -> None:
    params = _params()
    opt = Adam(params[:2], lr=0.03)
    opt.add_param_group({"params": params[2:], "betas": (0.5, 0.9)})
    assert opt.param_groups[1]["lr"] == 0.03 and opt.param_groups[1]["betas"] == (0.5, 0.9)
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [params[0]]})


@pytest.mark.parametrize("case", ["sgd_nesterov", "adam_amsgrad", "adamw"])
def test_state_dict_resume_equals_uninterrupted(case: str, tmp_path: Path) -> None:
    cls, kwargs = CASES[case]
    straight = _params()
    _train(cls(straight, **kwargs), straight, 5)

    params = _params()
    opt = cls(params, **kwargs)
    _train(opt, params, 2)
    mg.save(opt.state_dict(), tmp_path / "opt.npz")
    resumed = cls(params, lr=123.0)  # hyperparameters come back from the state dict
    resumed.load_state_dict(mg.load(tmp_path / "opt.npz"))
    assert resumed.param_groups[0]["lr"] == kwargs["lr"]
    _train(resumed, params, 3)
    for a, b in zip(params, straight):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_fresh_optimizer_state_round_trips(tmp_path: Path) -> None:
    params = _params()
    mg.save(SGD(params, lr=0.3, momentum=0.5).state_dict(), tmp_path / "fresh.npz")
    opt = SGD(params, lr=0.1, momentum=0.9)
    opt.load_state_dict(mg.load(tmp_path / "fresh.npz"))
    assert opt.state == {} and opt.param_groups[0]["lr"] == 0.3
    assert opt.param_groups[0]["momentum"] == 0.5 and opt.param_groups[0]["nesterov"] is False


def test_state_dict_layout_is_pytorchs() -> None:
    params = _params()
    opt = Adam(params, lr=0.01)
    _train(opt, params, 2)
    sd = opt.state_dict()
    assert sorted(sd) == ["param_groups", "state"]
    assert sd["param_groups"][0]["params"] == [0, 1, 2, 3]
    assert (
        sorted(sd["state"][0]) == ["exp_avg", "exp_avg_sq", "step"] and sd["state"][0]["step"] == 2
    )
    sd["state"][0]["exp_avg"][...] = 99.0  # a copy: the optimizer is untouched
    assert opt.state[params[0]]["step"] == 2 and opt.state[params[0]]["exp_avg"].shape == (4, 3)
    assert not (opt.state_dict()["state"][0]["exp_avg"] == 99.0).any()


def test_load_state_dict_errors_name_the_problem() -> None:
    params = _params()
    opt = Adam(params, lr=0.01)
    _train(opt, params, 1)
    sd = opt.state_dict()
    other = _params()
    with pytest.raises(
        ValueError,
        match="parameter group 0 has 4 parameter.* loaded state dict, 3 in the optimizer",
    ):
        Adam(other[:3]).load_state_dict(sd)
    with pytest.raises(KeyError, match="'param_groups'"):
        Adam(other).load_state_dict({"state": {}})
    bad = opt.state_dict()
    bad["state"][1]["exp_avg"] = np.zeros((7,))
    with pytest.raises(
        ValueError, match=r"exp_avg' of parameter 1 has shape \(7,\) .* parameter has shape \(4,\)"
    ):
        Adam(other).load_state_dict(bad)
    with pytest.raises(ValueError, match="has 1 parameter group.*the optimizer has 2"):
        Adam([{"params": other[:2]}, {"params": other[2:]}]).load_state_dict(sd)


def test_float32_parameters_stay_float32() -> None:
    for cls, kwargs in CASES.values():
        params = _params(np.float32)
        _train(cls(params, **kwargs), params, 2)
        assert all(p.dtype == np.float32 for p in params), cls


def test_zero_grad_and_params_without_grad() -> None:
    params = _params()
    opt = SGD(params, lr=0.1, momentum=0.9)
    _loss(params).backward()
    opt.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.numpy().any() for p in params)
    opt.zero_grad()
    assert all(p.grad is None for p in params)
    before = [p.numpy().copy() for p in params]
    params[0].grad = mg.tensor(np.ones((4, 3)))
    opt.step()  # only w1 has a gradient
    assert not np.array_equal(params[0].numpy(), before[0])
    for p, b in zip(params[1:], before[1:]):
        np.testing.assert_array_equal(p.numpy(), b)


def test_defaults_and_bad_hyperparameters() -> None:
    p = _params()
    assert AdamW(p).defaults["weight_decay"] == 1e-2 and Adam(p).defaults["weight_decay"] == 0
    assert Adam(p).defaults["betas"] == (0.9, 0.999) and Adam(p).defaults["eps"] == 1e-8
    with pytest.raises(
        ValueError, match="Nesterov momentum requires a momentum and zero dampening"
    ):
        SGD(p, lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="invalid learning rate: -1"):
        SGD(p, lr=-1)
    with pytest.raises(ValueError, match="invalid betas"):
        Adam(p, betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="empty parameter list"):
        Adam([])
    with pytest.raises(TypeError, match="single Tensor"):
        Adam(p[0])
    with pytest.raises(ValueError, match="non-leaf"):
        SGD([p[0] * 2], lr=0.1)
    assert "lr: 0.001" in repr(Adam(p))
