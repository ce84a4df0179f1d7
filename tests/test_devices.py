"""JAX's CPU set-up: the device count and the fusion flag go into XLA_FLAGS once."""

import numpyro

from valueint import devices


def test_use_cpu_devices_sets_the_flags_once(monkeypatch):
    monkeypatch.setenv("XLA_FLAGS", "--xla_dump_hlo_as_text")
    counts = []
    monkeypatch.setattr(numpyro, "set_host_device_count", counts.append)
    monkeypatch.setattr(devices, "cpu_fusion_flag", lambda: "--xla_flag_under_test=1")
    devices.use_cpu_devices(3)
    devices.use_cpu_devices(3)
    assert counts == [3, 3]
    flags = devices.os.environ["XLA_FLAGS"].split()
    assert flags.count("--xla_flag_under_test=1") == 1
    assert "--xla_dump_hlo_as_text" in flags  # what was there stays


def test_a_chosen_fusion_setting_is_kept(monkeypatch):
    monkeypatch.setenv("XLA_FLAGS", "--xla_cpu_experimental_ynn_fusion_type=dot")
    monkeypatch.setattr(numpyro, "set_host_device_count", lambda n: None)
    devices.use_cpu_devices(2)
    assert devices.os.environ["XLA_FLAGS"] == "--xla_cpu_experimental_ynn_fusion_type=dot"


def test_the_flag_is_only_given_to_the_jaxlib_it_was_measured_with(monkeypatch):
    import importlib.metadata as metadata

    monkeypatch.setattr(metadata, "version", lambda name: "0.12.0.1")
    assert devices.cpu_fusion_flag().startswith("--xla_cpu_experimental_ynn_fusion_type=")
    monkeypatch.setattr(metadata, "version", lambda name: "0.13.0")
    assert devices.cpu_fusion_flag() is None
