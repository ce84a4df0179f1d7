"""Named data sets: where they are found, and the registry of their loaders."""

import pytest

import valueint.datasets as datasets


def test_a_data_set_is_found_in_the_stated_order(tmp_path, monkeypatch):
    (tmp_path / "given").mkdir()
    (tmp_path / "given" / "x.csv").write_text("a\n")
    (tmp_path / "env.csv").write_text("a\n")
    (tmp_path / "dir" / "set").mkdir(parents=True)
    (tmp_path / "dir" / "set" / "x.csv").write_text("a\n")
    where = {"env": "TEST_SET", "dirname": "set", "filename": "x.csv", "label": "the set"}
    monkeypatch.setenv("TEST_SET", str(tmp_path / "env.csv"))
    monkeypatch.setenv(datasets.DATA_DIR_ENV, str(tmp_path / "dir"))
    assert datasets.resolve_dataset(tmp_path / "given", **where) == tmp_path / "given" / "x.csv"
    assert datasets.resolve_dataset(None, **where) == tmp_path / "env.csv"
    monkeypatch.delenv("TEST_SET")
    assert datasets.resolve_dataset(None, **where) == tmp_path / "dir" / "set" / "x.csv"
    monkeypatch.delenv(datasets.DATA_DIR_ENV)
    monkeypatch.setattr(datasets, "REPO_ROOT", tmp_path / "repo")  # no shared folder beside it
    with pytest.raises(FileNotFoundError, match="the set not found at .*Set TEST_SET"):
        datasets.resolve_dataset(None, **where)


def test_the_shipped_data_sets_are_registered_with_their_family():
    named = datasets.NAMED_DATASETS
    assert set(named.names()) == {"cutler2021", "trust_sampling_ma2022"}
    assert named.get("cutler2021").family == "trials"
    assert named.get("trust_sampling_ma2022").family == "infosampling"
    assert (datasets.SHIPPED_DATA / "zhao2017_praise_cheating").is_dir()
