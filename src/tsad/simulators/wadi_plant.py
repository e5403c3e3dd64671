"""Simulator of the WADI water-distribution testbed (iTrust, SUTD) that writes data in WADI's A1 format.

WADI is released only on request, so the project trains and tests on a stand-in with the same 127 tags in
the same order, 1 s sampling, file start times, the four always-empty columns, a few logger gaps, and labels
through an attack table (the A1 attack file has no label column). The network is physically coupled:

- Stage 1 (primary grid): the raw-water tank (1_LT_001) fills from the utility through 1_MV_001 (1_FIT_001)
  on level set points with hysteresis, and takes back the return water (3_FIT_001) and the reservoir's
  recirculation (2_MCV_007). Transfer pumps 1_P_001/1_P_002 (duty/standby, swapped daily) lift water to the
  elevated reservoir (2_FIT_001) when its level (2_LT_002) asks for it; dosing pump 1_P_005 chlorinates the
  transfer; 1_P_003 mixes the tank ten minutes an hour.
- Stage 2 (secondary grid): the elevated reservoir (two connected tanks, 2_LT_001/2_LT_002) feeds six
  consumers through booster pump 2_P_003 or 2_P_004, whose speed a PI controller (2_PIC_003) sets from the
  network pressure. Each consumer has a tank with high/low level switches (2_LS_x01_AH/AL), an inlet valve
  (2_MV_x01) with hysteresis, a flow controller (2_FIC_x01: set point from the consumer's demand schedule
  through the day, valve command 2_MCV_x01) and a solenoid valve (2_SV_x01) that draws water at the
  consumer's use times. Pressures (2_PIT_001-003), the strainer's differential pressure (2_DPIT_001), the two
  loop flows (2_FIT_002/003) and the per-minute quantities (2_FQ_x01) follow the flows.
- Stage 3 (return): used water drains into the return tank (3_LT_001); return pumps 3_P_001/3_P_002 send it
  back to stage 1 on level set points.
- Analysers (1_AIT, 2A_AIT, 2B_AIT, 3_AIT) follow the water: conductivity from the mix of utility and return
  water, chlorine from dosing and its decay on the way, turbidity from the inlet, ORP from chlorine and pH.

The PLC runs once per second on the *reported* levels and pressure, so a spoofed sensor makes it act wrongly
and the consequences show in other tags; only that loop is sequential, every other tag is derived
vectorised around it. Attacks are modelled on the kinds in WADI's attack description: forced valves and
pumps, tampered set points, spoofed, frozen and replayed sensors, a leak, and multi-point attacks.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from tsad.datasets.wadi.files import WADI_A1_ATTACKS, WADI_EMPTY_TAGS, WADI_TAGS
from tsad.simulators.attacks import (
    Manipulation,
    PlannedAttack,
    Scenario,
    Template,
    apply_overrides,
    attack_mask,
    attack_table,
    constant,
    file_gap,
    force,
    loop_overrides,
    plan_attack,
    schedule,
)
from tsad.simulators.signals import first_order_lag, idle_flow, ou_drift, transport_delay

IDLE_FLOW = 1e-3  # reading of a flow meter on a stopped line

__all__ = ["ATTACK_START", "NORMAL_START", "PRESETS", "SimulatedWadi", "simulate_preset", "simulate_wadi_plant",
           "wadi_preamble"]

# First rows of the A1 release: normal operation from 25 Sep 2017 6 PM, attacks from 9 Oct 2017 6 PM.
NORMAL_START = pd.Timestamp("2017-09-25 18:00:00")
ATTACK_START = pd.Timestamp("2017-10-09 18:00:00")

PRESETS: dict[str, dict] = {
    # A1 scale: 14 days + 1 s of normal operation, 2 days + 1 s of attacks placed at the A1 table's times.
    "full": {"n_normal": 1_209_601, "n_attack": 172_801, "schedule": "a1"},
    # What the README demo trains and scores on: one day of normal operation and 12 h of attacks.
    "default": {"n_normal": 86_400, "n_attack": 43_200, "n_attacks": 12, "attack_fraction": 0.06,
                "schedule": "random"},
    # Unit tests: one hour of each file.
    "tiny": {"n_normal": 3_600, "n_attack": 3_600, "n_attacks": 5, "attack_fraction": 0.08, "schedule": "random"},
}

CLOSED, OPEN = 1, 2  # valve and pump status encoding (1 = closed/off, 2 = open/on; 0 while a valve travels)
OFF, ON = CLOSED, OPEN
VALVE_TRAVEL_S = 3

WARMUP_S = 3_600  # unrecorded seconds before the normal file, so that it starts mid-cycle
MAX_GAP_S = 1_800  # at most this many unrecorded seconds between the two files

CONSUMERS = 6
# Tank gains: level change in % per second for a net flow of 1 m3/h (volume V m3: 100 / (3600 V)).
RAW_TANK_GAIN = 100 / (3_600 * 2.5)
RESERVOIR_GAIN = 100 / (3_600 * 1.0)  # each of the two reservoir tanks
CONSUMER_TANK_GAIN = 100 / (3_600 * 0.2)
RETURN_TANK_GAIN = 100 / (3_600 * 1.0)
PUMP_SUCTION_MIN = 2.0  # % below which a pump moves no water

# PLC set points (%), in pairs with hysteresis.
RAW_INLET_OPEN_BELOW, RAW_INLET_CLOSE_ABOVE = 40.0, 80.0
RAW_LOW_LOCK, RAW_LOW_RESET = 10.0, 20.0
RESERVOIR_FILL_BELOW, RESERVOIR_STOP_ABOVE = 45.0, 85.0
RECIRCULATION_FROM = 75.0  # 2_MCV_007 opens 8 %/% above this reservoir level
RETURN_START_ABOVE, RETURN_STOP_BELOW = 70.0, 25.0
RAW_HIGH_LOCK, RAW_HIGH_RESET = 90.0, 85.0  # return water and recirculation stop while the raw tank is this full
CONSUMER_OPEN_BELOW, CONSUMER_CLOSE_ABOVE = 40.0, 85.0
# Level switches: a consumer tank's high switch is what closes its inlet; low switches only trip in upsets.
ALARM_LOW, CONSUMER_ALARM_HIGH = 10.0, 84.0
RAW_ALARM_HIGH = 95.0

# Nominal flows (m3/h).
UTILITY_FLOW = 2.0
TRANSFER_FLOW = 3.0
RETURN_FLOW = 3.0
RECIRCULATION_FLOW = 1.5
LEAK_FLOW = 0.6
RETURN_SHARE = 0.6  # share of the consumers' water that reaches the return tank (the rest goes to sewer)

# Network hydraulics (bar): reservoir head + pump head (speed squared) - friction (flow squared).
MAX_SPEED = 2_950.0  # rpm
PUMP_HEAD = 1.2
FRICTION = 0.08
LOOP_FRICTION = 0.05  # between 2_PIT_002 and 2_PIT_003
LEAK_PRESSURE_DROP = 0.12
PRESSURE_SP = 0.75
PI_GAIN_RPM = 300.0  # rpm per bar of error per second
VALVE_CV = 1.45  # m3/h per sqrt(bar) for a fully open consumer valve
MIN_VALVE_DP = 0.05

DAY_S = 86_400
DUTY_SWAP_HOUR = 6  # duty and standby pumps swap every day at 6 AM


@dataclass(frozen=True)
class SimulatedWadi:
    """The two WADI files (as typed frames before formatting) and the attack table.

    Attributes:
        normal: 1 s DatetimeIndex ``timestamp`` from 25/9/2017 6:00:00 PM and the 127 ``WADI_TAGS`` as float32
            (NaN in the four empty columns and in logger gaps).
        attack: Same layout from 9/10/2017 6:00:00 PM, plus ``label`` (int8, 1 = under attack); the A1 file
            format has no label column, so the files carry the labels through ``attacks``.
        attacks: One row per attack: ``number``, ``kind``, ``start`` and ``end`` (first and last attack rows,
            inclusive), ``points`` (attacked tags), ``description``, ``intent``, ``start_row``, ``end_row``
            and ``duration_s``.
    """

    normal: pd.DataFrame
    attack: pd.DataFrame
    attacks: pd.DataFrame


# Sensors the PLC reads inside the loop (the three levels keep a history so they can be frozen or replayed).
_LOOP_SENSORS = ("1_LT_001_PV", "2_LT_002_PV", "3_LT_001_PV", "2_PIC_003_PV")
_LEVEL_SLOTS = 3
_CONSUMER_IDS = tuple(f"{100 * j + 101}" for j in range(CONSUMERS))  # "101" .. "601"
# Actuators and set points the loop obeys when forced.
_LOOP_FORCES = ("1_MV_001_STATUS", "2_MV_003_STATUS", "2_P_003_STATUS", "2_P_004_STATUS", "2_MV_009_STATUS",
                "2_PIC_003_SP", *(f"2_MCV_{c}_CO" for c in _CONSUMER_IDS),
                *(f"2_SV_{c}_STATUS" for c in _CONSUMER_IDS), *(f"2_FIC_{c}_SP" for c in _CONSUMER_IDS))

# Attacks ``force`` an actuator state, valve opening or set point to one value for their whole window: the
# plant acts on it and the file reports it.
_Plan = list[PlannedAttack[float]]


def _templates() -> tuple[Template, ...]:
    """Fifteen scenarios modelled on the kinds of WADI's attack description (durations in s at A1 scale)."""

    def fixed(manipulations: tuple[Manipulation, ...], text: str) -> Callable[[np.random.Generator, int], Scenario]:
        return lambda rng, n: (manipulations, text)

    def lt002_low(rng: np.random.Generator, n: int) -> Scenario:
        level = round(float(rng.uniform(15, 30)), 1)
        return (constant("2_LT_002_PV", level),), f"Set 2_LT_002 to {level} %"

    def ait001_offset(rng: np.random.Generator, n: int) -> Scenario:
        bias = round(float(rng.uniform(30, 60)), 1)
        return (Manipulation("1_AIT_001_PV", "offset", bias),), f"Raise 1_AIT_001 by {bias} uS/cm"

    def pic_sp(rng: np.random.Generator, n: int) -> Scenario:
        value = round(float(rng.choice([rng.uniform(0.35, 0.5), rng.uniform(1.0, 1.2)])), 2)
        return (force("2_PIC_003_SP", value),), f"Change the 2_PIC_003 set point to {value} bar"

    def fic_sp(rng: np.random.Generator, n: int) -> Scenario:
        consumer = str(rng.choice(_CONSUMER_IDS))
        return (force(f"2_FIC_{consumer}_SP", 1.5),), f"Set 2_FIC_{consumer} set point to 1.5 m3/h"

    def sv_open(rng: np.random.Generator, n: int) -> Scenario:
        consumer = str(rng.choice(_CONSUMER_IDS))
        return (force(f"2_SV_{consumer}_STATUS", OPEN),), f"Open 2_SV_{consumer} (forced)"

    def lt001_high(rng: np.random.Generator, n: int) -> Scenario:
        level = round(float(rng.uniform(82, 90)), 1)
        return (constant("1_LT_001_PV", level),), f"Set 1_LT_001 to {level} %"

    def lt301_ramp(rng: np.random.Generator, n: int) -> Scenario:
        rate = round(float(rng.uniform(-0.05, -0.03)), 3)
        return (Manipulation("3_LT_001_PV", "ramp", rate),), f"Lower 3_LT_001 by {-rate} % every second"

    def fit002_replay(rng: np.random.Generator, n: int) -> Scenario:
        lag = int(rng.integers(1_800, 3_600))
        return (Manipulation("2_FIT_002_PV", "replay", lag),), f"Replay 2_FIT_002 readings from {lag} s earlier"

    def pit_noise(rng: np.random.Generator, n: int) -> Scenario:
        std = round(float(rng.uniform(0.05, 0.1)), 3)
        return (Manipulation("2_PIT_003_PV", "noise", std),), f"Inject noise of {std} bar into 2_PIT_003"

    return (
        Template("actuator_force", "Raw-water tank overflow", 900, 1_600, fixed(
            (force("1_MV_001_STATUS", OPEN),), "Open 1_MV_001 (forced)")),
        Template("sensor_constant", "Inflow to the raw-water tank hidden", 500, 900, fixed(
            (constant("1_FIT_001_PV", 0.0),), "Set 1_FIT_001 to 0")),
        Template("multi_point", "Consumers 1 and 2 overdraw; reservoir drained", 900, 1_800, fixed(
            (force("2_MCV_101_CO", 100.0), force("2_MCV_201_CO", 100.0)), "Open 2_MCV_101 and 2_MCV_201 fully")),
        Template("sensor_offset", "Water quality reported off-spec", 500, 900, ait001_offset),
        Template("actuator_force", "Supply to consumers cut", 500, 900, fixed(
            (force("2_MV_003_STATUS", CLOSED),), "Close 2_MV_003 (forced)")),
        Template("sensor_constant", "Transfer never stops; reservoir overflow", 600, 1_200, lt002_low),
        Template("setpoint_change", "Network pressure off its set point", 500, 900, pic_sp),
        Template("actuator_force", "Chlorine overdose downstream", 300, 900, fixed(
            (force("1_P_006_STATUS", ON),), "Turn on 1_P_006 (standby dosing pump)")),
        Template("setpoint_change", "One consumer draws far above its demand", 300, 900, fic_sp),
        Template("actuator_force", "A consumer tank drained; return tank floods", 300, 900, sv_open),
        Template("sensor_constant", "Utility inlet closed on a false level; raw tank runs dry", 600, 1_200,
                 lt001_high),
        Template("stealth_ramp", "Return pumps start late; return tank overflows", 300, 700, lt301_ramp),
        Template("actuator_force", "Booster pumps stopped; network pressure lost", 200, 600, fixed(
            (force("2_P_003_STATUS", OFF), force("2_P_004_STATUS", OFF)), "Turn off 2_P_003 and 2_P_004")),
        Template("leak", "Water lost from consumer loop B", 500, 900, fixed(
            (force("2_MV_009_STATUS", OPEN),), "Open the loop-B drain 2_MV_009 (a leak)")),
        Template("replay", "Loop-A flow hidden behind old readings", 400, 900, fit002_replay),
        Template("noise_injection", "End-of-network pressure unreliable", 300, 700, pit_noise),
    )


def simulate_wadi_plant(n_normal: int, n_attack: int, seed: int, *, n_attacks: int | None = None,
                        attack_fraction: float = 0.06, schedule: str = "random") -> SimulatedWadi:
    """Simulate the WADI network and return its normal file, attack file and attack table.

    Args:
        n_normal: Rows of the normal file (1 s each, from 25/9/2017 6:00:00 PM).
        n_attack: Rows of the attack file (1 s each, from 9/10/2017 6:00:00 PM).
        seed: Seed of the only random generator used; the same seed gives identical output.
        n_attacks: Number of attacks with ``schedule="random"``; by default one per 3,000 rows, 4 to 15.
        attack_fraction: Share of the attack file's rows under attack with ``schedule="random"``.
        schedule: ``"random"`` places attacks at random; ``"a1"`` places one at each interval of the A1 attack
            table (``WADI_A1_ATTACKS``), so the loader's built-in table labels the file exactly (needs
            ``n_attack`` to reach 11 Oct 15:37:00, i.e. at least 164,221 rows).

    Returns:
        The simulated files and attack table.

    Raises:
        ValueError: Too few rows for the attacks, a fraction outside (0, 0.5], or an unknown schedule.
    """
    if n_normal < 60:
        raise ValueError(f"n_normal must be at least 60, got {n_normal}")
    if schedule not in {"random", "a1"}:
        raise ValueError(f"unknown attack schedule {schedule!r}; use 'random' or 'a1'")
    if not 0.0 < attack_fraction <= 0.5:
        raise ValueError(f"attack_fraction must be in (0, 0.5], got {attack_fraction}")
    if n_attacks is None:
        n_attacks = max(4, min(15, n_attack // 3_000))
    if schedule == "random" and (n_attacks < 1 or n_attack < 60 * n_attacks):
        raise ValueError(f"n_attack={n_attack} rows are too few for {n_attacks} attacks (need 60 rows each)")

    rng = np.random.default_rng(seed)
    gap = file_gap(NORMAL_START, n_normal, ATTACK_START, MAX_GAP_S)
    attack_offset = WARMUP_S + n_normal + gap
    n_steps = attack_offset + n_attack
    # Wall-clock seconds since midnight of the first normal day (demand cycles, duty swaps).
    clock = np.concatenate([
        np.arange(-WARMUP_S, n_normal + gap) + 18 * 3_600,
        (ATTACK_START - NORMAL_START.normalize()).total_seconds() + np.arange(n_attack),
    ]).astype(np.float64)

    if schedule == "a1":
        plan = _plan_a1(rng, n_attack, attack_offset)
    else:
        plan = _plan_random(rng, n_attack, n_attacks, attack_fraction, attack_offset)
    inputs = _exogenous(rng, n_steps, clock)
    loop = _run_control_loop(rng, n_steps, inputs, plan)
    values = _derive_tags(rng, loop, inputs, clock, plan)
    _apply_sensor_attacks(values, plan)
    _round_like_the_historian(values)
    normal_rows, attack_rows = slice(WARMUP_S, WARMUP_S + n_normal), slice(attack_offset, n_steps)
    _logger_gaps(rng, values, normal_rows, n_gaps=2 + n_normal // 200_000, outage=True)
    _logger_gaps(rng, values, attack_rows, n_gaps=1, outage=False)

    labels = attack_mask(plan, attack_offset, n_attack).astype(np.int8)
    normal = pd.DataFrame(values[normal_rows], columns=list(WADI_TAGS),
                          index=pd.date_range(NORMAL_START, periods=n_normal, freq="s", name="timestamp"))
    attack = pd.DataFrame(values[attack_rows], columns=list(WADI_TAGS),
                          index=pd.date_range(ATTACK_START, periods=n_attack, freq="s", name="timestamp"))
    attack["label"] = labels
    return SimulatedWadi(normal=normal, attack=attack, attacks=attack_table(plan, attack_offset, ATTACK_START))


def simulate_preset(preset: str = "default", seed: int = 2017, **overrides: object) -> SimulatedWadi:
    """Simulate one of ``PRESETS``, optionally overriding its parameters.

    Raises:
        ValueError: Unknown preset or override name.
    """
    if preset not in PRESETS:
        raise ValueError(f"unknown WADI preset {preset!r}; choose one of {sorted(PRESETS)}")
    allowed = {"n_normal", "n_attack", "n_attacks", "attack_fraction", "schedule"}
    unknown = set(overrides) - allowed
    if unknown:
        raise ValueError(f"unknown WADI preset parameter(s) {sorted(unknown)}; allowed: {sorted(allowed)}")
    params = {**PRESETS[preset], **overrides}
    return simulate_wadi_plant(seed=seed, **params)  # type: ignore[arg-type]


def wadi_preamble(settings: dict) -> list[str]:
    """The four metadata lines above the header of the simulated normal file (the real preamble's text is
    not known here; readers skip it and look for the ``Row,Date,Time`` header)."""
    return ["WADI historian export - SIMULATED by tsad.simulators.wadi_plant (not iTrust data)",
            "Server,\\\\WIN-25J4RO10SBF\\LOG_DATA\\SUTD_WADI\\LOG_DATA",
            f"Start,{NORMAL_START.month}/{NORMAL_START.day}/{NORMAL_START.year} 6:00:00.000 PM",
            "Settings," + ";".join(f"{k}={v}" for k, v in sorted(settings.items()))]


# --------------------------------------------------------------------------------------------- attacks


def _plan_random(rng: np.random.Generator, n_attack: int, n_attacks: int, attack_fraction: float,
                 attack_offset: int) -> _Plan:
    """Scenarios in random order (every one before repeats), durations and start times."""
    templates = _templates()
    order: list[int] = []
    while len(order) < n_attacks:
        order += [int(i) for i in rng.permutation(len(templates))]
    chosen = [templates[i] for i in order[:n_attacks]]
    # 60 % of each attack's duration lets the plant settle before the next one.
    placed = schedule(rng, chosen, n_attack, attack_fraction, min_duration=30, recovery_share=0.6)
    return [_planned(rng, template, attack_offset + start, duration)
            for template, (start, duration) in zip(chosen, placed, strict=True)]


def _plan_a1(rng: np.random.Generator, n_attack: int, attack_offset: int) -> _Plan:
    """One attack at each interval of the A1 table (the attack file must start at 9/10/2017 6 PM)."""
    templates = _templates()
    order = [int(i) for i in rng.permutation(len(templates))]
    plan = []
    for (start_text, end_text), i in zip(WADI_A1_ATTACKS, order, strict=False):
        first = int((pd.Timestamp(start_text) - ATTACK_START).total_seconds())
        last = int((pd.Timestamp(end_text) - ATTACK_START).total_seconds())
        if last >= n_attack:
            raise ValueError(f"the A1 schedule needs the attack file to reach {end_text} "
                             f"(at least {last + 1} rows), got {n_attack}")
        plan.append(_planned(rng, templates[i], attack_offset + first, last - first + 1))
    return plan


def _planned(rng: np.random.Generator, template: Template, start: int, duration: int) -> PlannedAttack[float]:
    """Materialise one scenario; a forced tag holds its one value for the whole window."""
    return plan_attack(rng, template, start, duration, forced=lambda m, seconds: float(m.value),
                       force_modes={"force"}, no_history=_LOOP_SENSORS[_LEVEL_SLOTS:])


# ------------------------------------------------------------------------------------ exogenous inputs


@dataclass(frozen=True)
class _Inputs:
    """Signals that do not depend on the plant's state, drawn vectorised before the loop."""

    utility: np.ndarray  # flow through 1_MV_001 when open (m3/h)
    transfer: np.ndarray
    return_flow: np.ndarray
    set_points: np.ndarray  # (CONSUMERS, n) demand set points of 2_FIC_x01 (m3/h)
    use: np.ndarray  # (CONSUMERS, n) int8: the consumer wants to draw water (2_SV_x01 opens if it can)
    draw: np.ndarray  # (CONSUMERS,) flow through an open 2_SV_x01 (m3/h)
    duty_b: np.ndarray  # int8: the second pump of each duty/standby pair is on duty today
    level_noise: np.ndarray  # (4, n) slow noise of the three tank levels and the pressure
    demand: np.ndarray  # daily demand profile in [0.3, 1]


def demand_profile(clock: np.ndarray) -> np.ndarray:
    """Share of peak demand through the day: low at night, peaks at 7:30 and 19:30."""
    hour = (clock % DAY_S) / 3_600
    peak = (0.35 * np.exp(-(((hour - 7.5) / 1.5) ** 2)) + 0.45 * np.exp(-(((hour - 19.5) / 2.0) ** 2))
            + 0.3 * np.exp(-(((hour - 12.5) / 2.5) ** 2)))
    night = 0.25 * np.exp(-(((hour - 3.0) / 2.5) ** 2))
    return np.clip(0.5 + peak - night, 0.3, 1.0)


def _exogenous(rng: np.random.Generator, n: int, clock: np.ndarray) -> _Inputs:
    demand = demand_profile(clock)
    scale = rng.uniform(0.75, 1.25, CONSUMERS)
    # Set points change every 15 minutes, following the day's demand, quantised like an operator's entry.
    blocks = (clock // 900).astype(np.int64)
    block_codes, block_values = pd.factorize(blocks)
    set_points = np.empty((CONSUMERS, n))
    use = np.zeros((CONSUMERS, n), dtype=np.int8)
    draw = rng.uniform(0.55, 0.8, CONSUMERS)
    block_demand = demand_profile(block_values.astype(np.float64) * 900)
    for j in range(CONSUMERS):
        jitter = rng.normal(0, 0.04, len(block_values))
        set_points[j] = np.round(np.clip(0.6 * scale[j] * block_demand + jitter, 0.1, 1.0), 2)[block_codes]
        use[j] = _use_events(rng, n, demand)
    day = ((clock - DUTY_SWAP_HOUR * 3_600) // DAY_S).astype(np.int64)
    return _Inputs(
        utility=UTILITY_FLOW * (1 + ou_drift(rng, n, 0.01, 1_800)) + rng.normal(0, 0.004, n),
        transfer=TRANSFER_FLOW * (1 + ou_drift(rng, n, 0.008, 1_200)) + rng.normal(0, 0.005, n),
        return_flow=RETURN_FLOW * (1 + ou_drift(rng, n, 0.008, 1_200)) + rng.normal(0, 0.005, n),
        set_points=set_points, use=use, draw=draw, duty_b=(day % 2).astype(np.int8),
        level_noise=np.stack([ou_drift(rng, n, 0.06, 20) for _ in range(3)] + [rng.normal(0, 0.004, n)]),
        demand=demand,
    )


def _use_events(rng: np.random.Generator, n: int, demand: np.ndarray) -> np.ndarray:
    """On/off periods of a consumer's water use: uses of 1-5 min, more frequent when demand is high."""
    use = np.zeros(n, dtype=np.int8)
    t = int(rng.integers(0, 600))
    while t < n:
        length = int(rng.integers(60, 300))
        use[t: t + length] = 1
        mean_pause = 900 * (1.25 - demand[min(t, n - 1)])  # 45 s at peak, 14 min at night
        t += length + int(rng.exponential(mean_pause)) + 30
    return use


# ---------------------------------------------------------------------------------------- control loop


def _run_control_loop(rng: np.random.Generator, n: int, inputs: _Inputs, plan: _Plan) -> dict[str, np.ndarray]:
    """Run the PLC, the tanks and the network second by second.

    States live in plain Python floats and ints, inputs and outputs in numpy arrays accessed through
    memoryviews (fast scalar access without boxing into numpy scalars).

    Returns:
        Per-step arrays of levels (as measured, before spoofing), flows, pressure, speeds, set points and
        actuator states, keyed by tag or by an internal name.
    """
    out = {name: np.zeros(n, dtype=np.float32) for name in (
        "l1", "la", "lb", "l3", "q_utility", "q_transfer", "q_return", "q_recirc", "q_leak", "mcv7", "speed",
        "pressure", "pic_sp", "q_total")}
    flags = {name: np.zeros(n, dtype=np.int8) for name in ("mv001", "transfer", "ret", "booster", "mv003",
                                                           "p003", "p004", "mv009")}
    consumer = {name: np.zeros((CONSUMERS, n), dtype=np.float32) for name in ("pv", "co", "mcv", "sp", "level")}
    consumer_flags = {name: np.zeros((CONSUMERS, n), dtype=np.int8) for name in ("mv", "sv")}

    # Per step: index of the running attack or -1; per attack: its overrides as lists over its window.
    active, starts, loop_sensors = loop_overrides(plan, n, _LOOP_SENSORS)
    loop_forces = [[(_LOOP_FORCES.index(tag), value) for tag, value in attack.forces.items() if tag in _LOOP_FORCES]
                   for attack in plan]

    m = {k: memoryview(v) for k, v in {**out, **flags}.items()}
    c = {k: [memoryview(v[j]) for j in range(CONSUMERS)] for k, v in {**consumer, **consumer_flags}.items()}
    sp_in = [memoryview(inputs.set_points[j]) for j in range(CONSUMERS)]
    use_in = [memoryview(inputs.use[j]) for j in range(CONSUMERS)]
    utility, transfer_in, return_in = (memoryview(a) for a in (inputs.utility, inputs.transfer, inputs.return_flow))
    noise = [memoryview(inputs.level_noise[i]) for i in range(4)]
    duty_b = memoryview(inputs.duty_b)
    active_in = memoryview(active)
    draw = inputs.draw.tolist()
    history = (m["l1"], m["lb"], m["l3"])

    # Initial state, mid-band.
    l1 = float(rng.uniform(RAW_INLET_OPEN_BELOW, RAW_INLET_CLOSE_ABOVE))
    la = lb = float(rng.uniform(RESERVOIR_FILL_BELOW, RESERVOIR_STOP_ABOVE))
    l3 = float(rng.uniform(RETURN_STOP_BELOW, RETURN_START_ABOVE))
    levels = rng.uniform(CONSUMER_OPEN_BELOW, CONSUMER_CLOSE_ABOVE, CONSUMERS).tolist()
    inlet_want = bool(rng.integers(2))
    transfer_want = bool(rng.integers(2))
    return_want = False
    raw_lowlock = raw_highlock = False
    mv_want = [bool(b) for b in rng.integers(0, 2, CONSUMERS)]
    pv = [0.0] * CONSUMERS
    speed, pressure, q_total = 1_800.0, PRESSURE_SP, 1.0
    no_force = [-1.0] * len(_LOOP_FORCES)

    for t in range(n):
        # Readings (before any attack) are what the historian records as measured.
        m1, mb, m3 = l1 + noise[0][t], lb + noise[1][t], l3 + noise[2][t]
        ma = la + 0.7 * noise[1][t]
        m["l1"][t], m["la"][t], m["lb"][t], m["l3"][t] = m1, ma, mb, m3
        r1, rb, r3, rp = m1, mb, m3, pressure + noise[3][t]
        k = active_in[t]
        forced = no_force
        if k >= 0:
            i = t - starts[k]
            readings = [m1, mb, m3, rp]
            for slot, gain, offset, source in loop_sensors[k]:
                src = source[i]
                base = readings[slot] if src == t else history[slot][src]
                readings[slot] = gain[i] * base + offset[i]
            r1, rb, r3, rp = readings
            forced = list(no_force)
            for slot, value in loop_forces[k]:
                forced[slot] = value

        # Stage 1: utility inlet on the raw tank's level; transfer when the reservoir asks and the raw tank
        # is above its low-low lock.
        if r1 < RAW_INLET_OPEN_BELOW:
            inlet_want = True
        elif r1 > RAW_INLET_CLOSE_ABOVE:
            inlet_want = False
        inlet_open = inlet_want if forced[0] < 0 else forced[0] == OPEN
        q_utility = utility[t] if inlet_open else 0.0
        if r1 < RAW_LOW_LOCK:
            raw_lowlock = True
        elif r1 > RAW_LOW_RESET:
            raw_lowlock = False
        if rb < RESERVOIR_FILL_BELOW:
            transfer_want = True
        elif rb > RESERVOIR_STOP_ABOVE:
            transfer_want = False
        transfer_on = transfer_want and not raw_lowlock
        q_transfer = transfer_in[t] if transfer_on and l1 > PUMP_SUCTION_MIN else 0.0

        # Stage 3: return pumps on the return tank's level, held while the raw tank is nearly full.
        if r1 > RAW_HIGH_LOCK:
            raw_highlock = True
        elif r1 < RAW_HIGH_RESET:
            raw_highlock = False
        if r3 > RETURN_START_ABOVE:
            return_want = True
        elif r3 < RETURN_STOP_BELOW:
            return_want = False
        return_on = return_want and not raw_highlock
        q_return = return_in[t] if return_on and l3 > PUMP_SUCTION_MIN else 0.0
        mcv7 = 0.0 if raw_highlock else min(max((ma - RECIRCULATION_FROM) * 8.0, 0.0), 100.0)
        q_recirc = RECIRCULATION_FLOW * mcv7 / 100.0 if la > PUMP_SUCTION_MIN else 0.0

        # Stage 2: the booster runs while any consumer valve is open; its PI acts on the reported pressure.
        pic_sp = PRESSURE_SP if forced[5] < 0 else forced[5]
        demand_open = any(mv_want)
        duty = duty_b[t]
        p003 = demand_open and duty == 0
        p004 = demand_open and duty == 1
        if forced[2] >= 0:
            p003 = forced[2] == ON
        if forced[3] >= 0:
            p004 = forced[3] == ON
        running = p003 or p004
        if running:
            speed = min(max(speed + PI_GAIN_RPM * (pic_sp - rp), 0.0), MAX_SPEED)
        else:
            speed = max(speed - 300.0, 0.0)
        discharge_open = forced[1] < 0 or forced[1] == OPEN
        head = 0.1 + 0.001 * (la + lb)
        if discharge_open and la > PUMP_SUCTION_MIN:
            available = head + PUMP_HEAD * (speed / MAX_SPEED) ** 2 * running - FRICTION * q_total * q_total
            available = max(available, 0.0)
        else:
            available = 0.0
        valve_flow = VALVE_CV * math.sqrt(max(available - MIN_VALVE_DP, 0.0))

        q_consumers = 0.0
        q_drained = 0.0
        for j in range(CONSUMERS):
            level = levels[j]
            if level < CONSUMER_OPEN_BELOW:
                mv_want[j] = True
            elif level > CONSUMER_CLOSE_ABOVE:
                mv_want[j] = False
            sp = sp_in[j][t] if forced[18 + j] < 0 else forced[18 + j]
            if mv_want[j]:
                co = min(100.0 * sp / valve_flow, 100.0) if valve_flow > 1e-6 else 100.0
            else:
                co = 0.0
            mcv = co if forced[6 + j] < 0 else forced[6 + j]
            target = valve_flow * mcv / 100.0 if mv_want[j] or forced[6 + j] >= 0 else 0.0
            pv[j] += 0.25 * (target - pv[j])
            sv_open = use_in[j][t] == 1 and level > ALARM_LOW
            if forced[12 + j] >= 0:
                sv_open = forced[12 + j] == OPEN
            drained = draw[j] if sv_open and level > 0.5 else 0.0
            levels[j] = min(max(level + CONSUMER_TANK_GAIN * (pv[j] - drained), 0.0), 100.0)
            q_consumers += pv[j]
            q_drained += drained
            c["pv"][j][t], c["co"][j][t], c["mcv"][j][t], c["sp"][j][t] = pv[j], co, mcv, sp
            c["level"][j][t], c["mv"][j][t], c["sv"][j][t] = level, mv_want[j], sv_open

        leak = forced[4] == OPEN
        q_leak = LEAK_FLOW * math.sqrt(available / PRESSURE_SP) if leak and available > 0 else 0.0
        q_total = q_consumers + q_leak
        pressure = max(available - (LEAK_PRESSURE_DROP if q_leak > 0 else 0.0), 0.0) if discharge_open else 0.0

        # Tanks integrate their flows; overflow spills, empty stays empty.
        l1 = min(max(l1 + RAW_TANK_GAIN * (q_utility + q_return + q_recirc - q_transfer), 0.0), 100.0)
        equalise = 2.0 * (la - lb)  # flow between the two reservoir tanks (m3/h)
        la = min(max(la + RESERVOIR_GAIN * (q_transfer - q_recirc - equalise - 0.5 * q_total), 0.0), 100.0)
        lb = min(max(lb + RESERVOIR_GAIN * (equalise - 0.5 * q_total), 0.0), 100.0)
        l3 = min(max(l3 + RETURN_TANK_GAIN * (RETURN_SHARE * q_drained - q_return), 0.0), 100.0)

        m["q_utility"][t], m["q_transfer"][t], m["q_return"][t] = q_utility, q_transfer, q_return
        m["q_recirc"][t], m["q_leak"][t], m["mcv7"][t], m["speed"][t] = q_recirc, q_leak, mcv7, speed * running
        m["pressure"][t], m["pic_sp"][t], m["q_total"][t] = pressure, pic_sp, q_total
        m["mv001"][t], m["transfer"][t], m["ret"][t], m["booster"][t] = inlet_open, transfer_on, return_on, running
        m["mv003"][t], m["p003"][t], m["p004"][t], m["mv009"][t] = discharge_open, p003, p004, leak

    return {**out, **flags, **{f"{k}{c_id}": v[j] for k, v in {**consumer, **consumer_flags}.items()
                               for j, c_id in enumerate(_CONSUMER_IDS)}}


# ----------------------------------------------------------------------------------------- derived tags


def _derive_tags(rng: np.random.Generator, loop: dict[str, np.ndarray], inputs: _Inputs, clock: np.ndarray,
                 plan: _Plan) -> np.ndarray:
    """Every tag's measured value (before sensor spoofing), as a (steps, 127) float32 array in WADI order."""
    n = len(clock)
    # Column-major, so that each tag is contiguous and the frames built on row slices are views.
    values = np.full((n, len(WADI_TAGS)), np.nan, dtype=np.float32, order="F")
    column = {tag: i for i, tag in enumerate(WADI_TAGS)}

    def put(tag: str, data: np.ndarray | float) -> None:
        values[:, column[tag]] = data

    def status(flag: np.ndarray, travel: bool = False) -> np.ndarray:
        state = np.where(flag > 0, OPEN, CLOSED).astype(np.float32)
        return _with_travel(state) if travel else state

    def flow_meter(flow: np.ndarray, std: float) -> np.ndarray:
        return np.where(flow > 0.005, flow + rng.normal(0, std, n), idle_flow(rng, n, std / 5, offset=IDLE_FLOW))

    # Stage 1.
    put("1_FIT_001_PV", flow_meter(loop["q_utility"], 0.005))
    put("1_LT_001_PV", loop["l1"])
    put("1_LS_001_AL", (loop["l1"] < ALARM_LOW).astype(np.float32))
    put("1_LS_002_AL", (loop["l1"] > RAW_ALARM_HIGH).astype(np.float32))
    put("1_MV_001_STATUS", status(loop["mv001"], travel=True))
    put("1_MV_002_STATUS", status(loop["transfer"], travel=True))
    put("1_MV_003_STATUS", status(loop["ret"], travel=True))
    put("1_MV_004_STATUS", CLOSED)
    duty_b = inputs.duty_b > 0
    transfer = loop["transfer"] > 0
    put("1_P_001_STATUS", status(transfer & ~duty_b))
    put("1_P_002_STATUS", status(transfer & duty_b))
    put("1_P_003_STATUS", status(((clock % 3_600) < 600).astype(np.int8)))  # mixing, 10 min every hour
    put("1_P_004_STATUS", CLOSED)
    put("1_P_005_STATUS", status(transfer))
    dosing_standby = np.zeros(n, dtype=np.int8)
    for attack in plan:
        if "1_P_006_STATUS" in attack.forces:
            dosing_standby[attack.window] = attack.forces["1_P_006_STATUS"] == ON
    put("1_P_006_STATUS", status(dosing_standby))

    # Water quality: conductivity from the mix of utility and return water; chlorine from dosing.
    fresh, returned = first_order_lag(loop["q_utility"], 600), first_order_lag(loop["q_return"], 600)
    return_share = returned / np.maximum(fresh + returned, 1e-3)
    conductivity = 150.0 + 40.0 * first_order_lag(return_share, 1_800) + ou_drift(rng, n, 4.0, 6 * 3_600)
    ph = 7.6 + ou_drift(rng, n, 0.04, 4 * 3_600) - 0.05 * first_order_lag(dosing_standby, 300)
    turbidity = 0.25 + 0.35 * first_order_lag(loop["q_utility"] > 0, 120) \
        * np.exp(-_since_change(loop["mv001"]) / 900) + np.abs(ou_drift(rng, n, 0.03, 1_800))
    chlorine = 1.1 + 0.5 * first_order_lag(transfer, 900) + 1.5 * first_order_lag(dosing_standby, 240) \
        + ou_drift(rng, n, 0.05, 3 * 3_600)
    orp = 300.0 + 60.0 * (chlorine - 1.3) - 25.0 * (ph - 7.6)
    put("1_AIT_001_PV", conductivity + rng.normal(0, 0.2, n))
    put("1_AIT_002_PV", ph + rng.normal(0, 0.003, n))
    put("1_AIT_003_PV", turbidity + rng.normal(0, 0.005, n))
    put("1_AIT_004_PV", chlorine + rng.normal(0, 0.005, n))
    put("1_AIT_005_PV", orp + rng.normal(0, 0.5, n))

    # Stage 2: network, consumers, reservoir.
    q_total, pressure = loop["q_total"].astype(np.float64), loop["pressure"].astype(np.float64)
    put("2_DPIT_001_PV", 0.02 + 0.35 * (q_total / 3.0) ** 2 * (1 + 0.1 * ou_drift(rng, n, 1.0, DAY_S))
        + rng.normal(0, 0.002, n))
    for c_id in _CONSUMER_IDS:
        flow = loop[f"pv{c_id}"].astype(np.float64)
        put(f"2_FIC_{c_id}_CO", np.round(loop[f"co{c_id}"], 2))
        put(f"2_FIC_{c_id}_PV", flow_meter(flow, 0.004))
        put(f"2_FIC_{c_id}_SP", loop[f"sp{c_id}"])
        put(f"2_FQ_{c_id}_PV", _rolling_sum(flow, 60) / 3.6)  # litres over the last minute
        put(f"2_LS_{c_id}_AH", (loop[f"level{c_id}"] > CONSUMER_ALARM_HIGH).astype(np.float32))
        put(f"2_LS_{c_id}_AL", (loop[f"level{c_id}"] < ALARM_LOW).astype(np.float32))
        put(f"2_MCV_{c_id}_CO", np.round(loop[f"mcv{c_id}"], 2))
        put(f"2_MV_{c_id}_STATUS", status(loop[f"mv{c_id}"], travel=True))
        put(f"2_SV_{c_id}_STATUS", status(loop[f"sv{c_id}"]))
    loop_a = sum(loop[f"pv{c}"].astype(np.float64) for c in _CONSUMER_IDS[:3])
    loop_b = sum(loop[f"pv{c}"].astype(np.float64) for c in _CONSUMER_IDS[3:]) + loop["q_leak"]
    put("2_FIT_001_PV", flow_meter(loop["q_transfer"], 0.006))
    put("2_FIT_002_PV", flow_meter(loop_a, 0.005))
    put("2_FIT_003_PV", flow_meter(loop_b, 0.005))
    put("2_LT_001_PV", loop["la"])
    put("2_LT_002_PV", loop["lb"])
    put("2_MCV_007_CO", np.round(loop["mcv7"], 2))
    any_a = sum(loop[f"mv{c}"].astype(np.int64) for c in _CONSUMER_IDS[:3]) > 0
    any_b = sum(loop[f"mv{c}"].astype(np.int64) for c in _CONSUMER_IDS[3:]) > 0
    any_sv = sum(loop[f"sv{c}"].astype(np.int64) for c in _CONSUMER_IDS) > 0
    put("2_MV_001_STATUS", status(transfer, travel=True))
    put("2_MV_002_STATUS", OPEN)
    put("2_MV_003_STATUS", status(loop["mv003"], travel=True))
    put("2_MV_004_STATUS", status(any_a, travel=True))
    put("2_MV_005_STATUS", status(any_b, travel=True))
    put("2_MV_006_STATUS", status(any_sv, travel=True))
    put("2_MV_009_STATUS", status(loop["mv009"], travel=True))
    put("2_P_003_SPEED", np.where(loop["p003"] > 0, loop["speed"], 0.0))
    put("2_P_003_STATUS", status(loop["p003"]))
    put("2_P_004_SPEED", np.where(loop["p004"] > 0, loop["speed"], 0.0))
    put("2_P_004_STATUS", status(loop["p004"]))
    put("2_PIC_003_CO", 100.0 * loop["speed"] / MAX_SPEED)
    measured_pressure = pressure + inputs.level_noise[3]
    put("2_PIC_003_PV", measured_pressure)
    put("2_PIC_003_SP", loop["pic_sp"])
    head = 0.1 + 0.001 * (loop["la"].astype(np.float64) + loop["lb"])
    put("2_PIT_001_PV", head + rng.normal(0, 0.003, n))
    put("2_PIT_002_PV", pressure + rng.normal(0, 0.004, n))
    end_pressure = np.maximum(pressure - LOOP_FRICTION * q_total ** 2 - 0.2 * loop["q_leak"], 0.0)
    put("2_PIT_003_PV", end_pressure + rng.normal(0, 0.004, n))
    # Water quality in the two consumer loops: the transfer's water after the reservoir's residence time.
    residence_a, residence_b = 1_800, 2_700
    for prefix, delay, decay in (("2A", residence_a, 0.85), ("2B", residence_b, 0.78)):
        put(f"{prefix}_AIT_001_PV", transport_delay(conductivity, delay) + 2.0 + rng.normal(0, 0.2, n))
        put(f"{prefix}_AIT_002_PV", transport_delay(ph, delay) + 0.02 + rng.normal(0, 0.003, n))
        put(f"{prefix}_AIT_003_PV", decay * transport_delay(chlorine, delay) + rng.normal(0, 0.005, n))
        put(f"{prefix}_AIT_004_PV", transport_delay(orp, delay) - 10.0 * (1 - decay) + rng.normal(0, 0.5, n))

    # Stage 3: return water.
    ret = loop["ret"] > 0
    put("3_AIT_001_PV", transport_delay(conductivity, 3_600) + 25.0 + rng.normal(0, 0.3, n))
    put("3_AIT_002_PV", transport_delay(ph, 3_600) - 0.1 + rng.normal(0, 0.004, n))
    put("3_AIT_003_PV", 0.6 + ou_drift(rng, n, 0.05, 3_600) + rng.normal(0, 0.01, n))
    put("3_AIT_004_PV", 0.5 * transport_delay(chlorine, 3_600) + rng.normal(0, 0.005, n))
    put("3_AIT_005_PV", transport_delay(orp, 3_600) - 40.0 + rng.normal(0, 0.6, n))
    put("3_FIT_001_PV", flow_meter(loop["q_return"], 0.006))
    put("3_LS_001_AL", (loop["l3"] < ALARM_LOW).astype(np.float32))
    put("3_LT_001_PV", loop["l3"])
    put("3_MV_001_STATUS", status(ret, travel=True))
    put("3_MV_002_STATUS", status(ret, travel=True))
    put("3_MV_003_STATUS", CLOSED)
    put("3_P_001_STATUS", status(ret & ~duty_b))
    put("3_P_002_STATUS", status(ret & duty_b))
    put("3_P_003_STATUS", status(ret))  # return-water dosing runs with the return pumps
    put("3_P_004_STATUS", CLOSED)

    # Aggregates.
    put("LEAK_DIFF_PRESSURE", values[:, column["2_PIT_002_PV"]] - values[:, column["2_PIT_003_PV"]]
        - LOOP_FRICTION * q_total ** 2)
    put("PLANT_START_STOP_LOG", 1.0)
    put("TOTAL_CONS_REQUIRED_FLOW", sum(loop[f"sp{c}"] * loop[f"mv{c}"] for c in _CONSUMER_IDS))
    for tag in WADI_EMPTY_TAGS:
        put(tag, np.nan)
    return values


def _apply_sensor_attacks(values: np.ndarray, plan: _Plan) -> None:
    """Replace measured values by what the attacked sensors reported, in place."""
    column = {tag: i for i, tag in enumerate(WADI_TAGS)}
    for tag in dict.fromkeys(tag for attack in plan for tag in attack.sensors):
        # Spoofs are computed in float64; the rows no attack touches go back to float32 unchanged.
        values[:, column[tag]] = apply_overrides(tag, values[:, column[tag]].astype(np.float64), plan)


# Decimals the historian keeps per tag family (the A1 files carry four to seven significant digits).
_DECIMALS = (("_LT_", 3), ("_AIT_", 3), ("_PIT_", 4), ("_DPIT_", 4), ("_FIT_", 4), ("_FIC_", 4), ("_FQ_", 3),
             ("_SPEED", 1), ("_CO", 2), ("LEAK_", 4), ("TOTAL_", 3), ("_PIC_", 4))


def _round_like_the_historian(values: np.ndarray) -> None:
    for i, tag in enumerate(WADI_TAGS):
        decimals = next((d for key, d in _DECIMALS if key in tag), None)
        if decimals is not None:
            values[:, i] = np.round(values[:, i], decimals)


def _logger_gaps(rng: np.random.Generator, values: np.ndarray, rows: slice, n_gaps: int, outage: bool) -> None:
    """Blank a few stretches of analyser readings (and, with ``outage``, a few seconds of every tag), in place.

    Each gap is 5-120 s and covers at most 0.2 % of the file's rows per tag, so the cleaning stage's fill
    policy (at most 1 % of a channel) can carry values over them.
    """
    length = rows.stop - rows.start
    analysers = [i for i, tag in enumerate(WADI_TAGS) if "_AIT_" in tag]
    longest = max(3, min(120, int(0.002 * length)))
    for _ in range(n_gaps):
        span = int(rng.integers(min(5, longest), longest + 1))
        start = rows.start + int(rng.integers(0, max(length - span, 1)))
        tags = rng.choice(analysers, size=int(rng.integers(1, 4)), replace=False)
        values[start: start + span, tags] = np.nan
    if outage:
        span = int(rng.integers(3, max(4, min(20, int(0.002 * length)))))
        start = rows.start + int(rng.integers(0, max(length - span, 1)))
        values[start: start + span, :] = np.nan


# ------------------------------------------------------------------------------------------ signal helpers


def _rolling_sum(signal: np.ndarray, width: int) -> np.ndarray:
    total = np.cumsum(np.concatenate([[0.0], signal]))
    return total[1:] - total[np.maximum(np.arange(1, len(signal) + 1) - width, 0)]


def _since_change(flag: np.ndarray) -> np.ndarray:
    """Seconds since ``flag`` last changed (since the start before its first change)."""
    flag = np.asarray(flag)
    changed = np.r_[True, flag[1:] != flag[:-1]]
    last = np.maximum.accumulate(np.where(changed, np.arange(len(flag)), 0))
    return (np.arange(len(flag)) - last).astype(np.float64)


def _with_travel(state: np.ndarray) -> np.ndarray:
    """A valve's status with 0 ("in transition") for the first seconds after each change of command."""
    t = np.arange(len(state))
    changed = np.r_[False, state[1:] != state[:-1]]
    last_change = np.maximum.accumulate(np.where(changed, t, -VALVE_TRAVEL_S))
    out = state.copy()
    out[t - last_change < VALVE_TRAVEL_S] = 0
    return out
