"""The family protocol: every shipped family implements it, a model's name finds its
family (a shared name by the data, or written with its family), and ``fit`` and
``load_data`` dispatch through it."""

import pandas as pd
import pytest

from valueint.inference import family as families
from valueint.inference.family import (
    FAMILIES,
    ModelFamily,
    family_for,
    family_of,
    load_data,
    register_family,
    registered_models,
)


def test_every_shipped_family_implements_the_protocol():
    assert set(FAMILIES.names()) == {"trials", "infosampling", "paradigm"}
    for family in FAMILIES.values():
        assert isinstance(family, ModelFamily)
        assert family.models.names() and family.unit
    assert "rw" in registered_models()["trials"]
    assert "isr" in registered_models()["paradigm"] and "isr" in registered_models()["trials"]


def test_a_model_name_finds_its_family():
    assert family_for("rw") == (FAMILIES.get("trials"), "rw")
    assert family_for("uncertainty")[0].name == "infosampling"
    assert family_for("paradigm:isr") == (FAMILIES.get("paradigm"), "isr")
    trial_table = pd.DataFrame({"subject": [1], "block": [1], "trial": [1], "choice": [1]})
    assert family_for("isr", trial_table)[0].name == "trials"  # the data settle it
    with pytest.raises(KeyError, match="names a model of several families.*paradigm:isr"):
        family_for("isr")
    with pytest.raises(KeyError, match="unknown model 'rx'; the models are trials: .*rw"):
        family_for("rx")
    with pytest.raises(KeyError, match="unknown trials model 'null_rate'"):
        family_for("trials:null_rate")
    with pytest.raises(KeyError, match="'sims' is not a known model family"):
        family_for("sims:rw")


def test_a_fit_names_its_family():
    tree = type("Fit", (), {"attrs": {"family": "paradigm"}})()
    assert family_of(tree).name == "paradigm"
    assert family_of(type("Fit", (), {"attrs": {}})()).name == "trials"  # earlier files
    assert family_of(type("Fit", (), {"attrs": {"paradigm": "zhao"}})()).name == "paradigm"


def test_fit_dispatches_to_the_family_of_the_model(monkeypatch):
    calls = []
    trials = FAMILIES.get("trials")
    monkeypatch.setattr(trials, "fit", lambda data, model, settings, **o: calls.append(o))
    families.fit("data", "rw", chains=2)
    assert calls == [{"chains": 2}]


def test_an_incomplete_family_is_refused_by_name():
    class Half:
        name = "half"

    with pytest.raises(TypeError, match="does not implement ModelFamily: it lacks accepts"):
        register_family(Half())


def test_data_are_loaded_by_name_or_by_file(tmp_path):
    path = tmp_path / "trials.csv"
    rows = [f"s{s},1,{t},{t % 2},{(s + t) % 2}" for s in range(3) for t in range(1, 5)]
    path.write_text("subject,block,trial,choice,outcome\n" + "\n".join(rows) + "\n")
    table = load_data(path, model="rw")
    assert len(table) == 12
    assert list(pd.unique(load_data(path, subjects=2)["subject"])) == ["s0", "s1"]
    with pytest.raises(FileNotFoundError, match="named data sets: cutler2021"):
        load_data(tmp_path / "none.csv")
