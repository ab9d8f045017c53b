"""Preferences in plain words (issue 17, part 6): a few choices a person understands, the numbers
folded under Advanced with a line each, and no text in the window naming a menu that is not there."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PySide6.QtWidgets import QDialogButtonBox, QLabel

from photoface.core.config import DEFAULTS

from .conftest import screenshot


def _dialog(qtbot, lib_dir, device="CPU"):
    from photoface.core.library.store import Library
    from photoface.gui.views.preferences import PreferencesDialog

    lib = Library(lib_dir)
    dlg = PreferencesDialog(lib, device=device)
    qtbot.addWidget(dlg)
    return lib, dlg


def test_plain_choices_first_numbers_folded(qtbot, tmp_path):
    from photoface.gui.views.preferences import DEFAULT_STEP, EAGERNESS_STEPS

    lib, dlg = _dialog(qtbot, tmp_path / "lib")
    dlg.show()
    qtbot.waitExposed(dlg)
    assert not dlg.advanced.isVisible()
    assert dlg.eagerness.value() == DEFAULT_STEP and dlg.step_label.text() == EAGERNESS_STEPS[DEFAULT_STEP][0]
    assert dlg.editors["watch_folders"].isChecked()
    assert dlg.editors["detector_backend"].currentData() == "onnx"
    assert dlg.editors["min_face_px"].value() == DEFAULTS["min_face_px"]
    # The raw model knobs are gone: switching them here would orphan every stored embedding.
    assert not {"active_weights", "align_mode", "input_scaling", "embed_precision"} & set(dlg.editors)
    dlg.resize(dlg.width(), dlg.sizeHint().height())  # the offscreen screen is only 600 px high
    qtbot.wait(50)
    screenshot(dlg, "preferences")
    dlg.advanced_button.click()
    assert dlg.advanced.isVisible()
    # Unfolding never pushes OK and Cancel off the screen (it did on a 900 px screen).
    screen = dlg.screen().availableGeometry()
    assert dlg.frameGeometry().height() <= screen.height()
    ok = dlg.findChild(QDialogButtonBox)
    assert ok.mapToGlobal(ok.rect().bottomLeft()).y() <= screen.bottom()
    dlg.resize(dlg.width(), 820)
    qtbot.wait(50)
    screenshot(dlg, "preferences-advanced")
    dlg.accept()
    assert dlg.changed_keys == []  # nothing touched, nothing written


def test_eagerness_slider_sets_the_ratios_and_custom_numbers_show(qtbot, tmp_path):
    from photoface.gui.views.preferences import EAGERNESS_KEYS, EAGERNESS_STEPS

    lib, dlg = _dialog(qtbot, tmp_path / "lib")
    dlg.eagerness.setValue(0)
    for key, value in zip(EAGERNESS_KEYS, EAGERNESS_STEPS[0][1]):
        assert dlg.editors[key].value() == pytest.approx(value)
    assert dlg.step_label.text() == EAGERNESS_STEPS[0][0]
    dlg.editors["watch_folders"].setChecked(False)
    dlg.accept()
    assert set(dlg.changed_keys) == {k for k, v in zip(EAGERNESS_KEYS, EAGERNESS_STEPS[0][1]) if v != DEFAULTS[k]} \
        | {"watch_folders"}
    assert lib.get_setting("watch_folders") is False
    assert lib.get_setting("cluster_link_ratio") == pytest.approx(EAGERNESS_STEPS[0][1][1])

    lib, again = _dialog(qtbot, tmp_path / "lib")
    assert again.eagerness.value() == 0 and not again.editors["watch_folders"].isChecked()
    again.editors["cluster_link_ratio"].setValue(0.5)  # a number of no step
    assert again.step_label.text().startswith("Custom")
    again.restore_defaults()
    again.accept()
    assert lib.get_setting("cluster_link_ratio") == pytest.approx(DEFAULTS["cluster_link_ratio"])
    assert lib.get_setting("watch_folders") is True


def _menus(win) -> dict[str, list[str]]:
    menus = {}
    for action in win.menuBar().actions():
        if action.menu() is not None:
            # "Dismiss Background Faces (Unsorted)" is named as "Dismiss Background Faces", "Export
            # Albums…" as "Export Albums": the name without its note in brackets or its dots.
            items = [re.sub(r"\s*\(.*\)$", "", a.text().replace("&", "")).rstrip("…")
                     for a in action.menu().actions() if a.text()]
            menus[action.text().replace("&", "")] = items
    return menus


# "Menu → Item": a capitalised word, the arrow, a capitalised item.
MENU_PATH = re.compile(r"\b([A-Z][a-z]+) → ([A-Z][^\"\n]*)")


def test_every_menu_named_in_the_window_exists(qtbot, tmp_path):
    from photoface.core.library.store import Library
    from photoface.gui.main_window import MainWindow
    from photoface.gui.settings import ui_settings

    win = MainWindow(Library(tmp_path / "lib"), ui_settings(str(tmp_path / "ui.ini")), probe_device=False)
    qtbot.addWidget(win)
    menus = _menus(win)
    gui = Path(__file__).resolve().parents[2] / "photoface" / "gui"
    named, wrong = 0, []
    for source in sorted(gui.rglob("*.py")):
        for lineno, line in enumerate(source.read_text(encoding="utf-8").splitlines(), 1):
            for menu, rest in MENU_PATH.findall(line):
                named += 1
                items = menus.get(menu, [])
                if not any(rest.startswith(item) for item in items):
                    wrong.append(f"{source.relative_to(gui)}:{lineno}: {menu} → {rest[:40]}")
    assert named >= 5, "the pattern no longer finds the menu references"
    assert not wrong, "texts name menus that do not exist:\n" + "\n".join(wrong)
    win.close()


def test_arithmetic_is_a_choice_with_the_measured_figures(qtbot, tmp_path):
    from photoface.gui.views.preferences import PRECISION_AUC

    lib, dlg = _dialog(qtbot, tmp_path / "lib")
    dlg.show()
    qtbot.waitExposed(dlg)
    combo = dlg.precision
    assert [(combo.itemData(i), combo.itemText(i)) for i in range(combo.count())] == \
        [("fp32", "Exact (32-bit)"), ("int8", "Fast (8-bit, quantised)")]
    assert combo.currentData() == "fp32"
    (hint,) = [w for w in dlg.findChildren(QLabel) if "2–4× quicker" in w.text()]
    (table,) = [w for w in dlg.findChildren(QLabel) if "<table" in w.text() and "Exact" in w.text()]
    assert len(PRECISION_AUC) == 7  # every shared set the benchmark scans, FP32 beside INT8
    for name, exact, fast in PRECISION_AUC:
        assert name in table.text() and f"{exact:.4f}" in table.text() and f"{fast:.4f}" in table.text()
    combo.setCurrentIndex(combo.findData("int8"))
    # The offscreen screen is 800 x 600: give the dialog the height a real screen gives it.
    dlg.resize(dlg.width(), dlg.sizeHint().height())
    qtbot.wait(50)
    assert hint.height() >= hint.heightForWidth(hint.width())  # nothing clipped
    assert table.height() >= table.sizeHint().height()
    screenshot(dlg, "preferences-arithmetic")
    dlg.accept()
    # Saved as a switch for the window to run, not written: every face must be re-embedded first.
    assert dlg.chosen_precision == "int8" and dlg.changed_keys == []
    assert lib.get_setting("embed_precision") == "fp32"

    lib, again = _dialog(qtbot, tmp_path / "lib")
    again.accept()
    assert again.chosen_precision is None


@pytest.mark.model
def test_saving_a_changed_arithmetic_switches_in_the_background_and_undo_takes_it_back(
        qtbot, make_window, library_dir, monkeypatch):
    from photoface.gui import prompts
    from photoface.gui.views.preferences import PreferencesDialog

    from .conftest import wait_idle

    def choose_fast(dlg):
        dlg.precision.setCurrentIndex(dlg.precision.findData("int8"))
        dlg.accept()
        return True

    monkeypatch.setattr(PreferencesDialog, "exec", choose_fast)
    summaries = []
    monkeypatch.setattr(prompts, "ask_apply", lambda parent, title, intro, lines: summaries.append(lines) or True)
    win = make_window(library_dir)
    named = win.library.con.execute("SELECT id, person_id, state FROM faces WHERE state IN ('confirmed', 'accepted') "
                                    "ORDER BY id").fetchall()
    win.show_preferences()
    assert win.model_switch.running and win.model_switch.cancel.isVisible()
    qtbot.waitUntil(lambda: not win.model_switch.running, timeout=300_000)
    assert "now uses fast 8-bit arithmetic" in win.state_label.text(), win.state_label.text()
    wait_idle(qtbot, win)
    lib = win.library
    assert lib.get_setting("embed_precision") == "int8"
    assert win.model_label.text().endswith(":int8")
    assert not win.model_switch.progress.isVisible()
    assert lib.con.execute("SELECT id, person_id, state FROM faces WHERE state IN ('confirmed', 'accepted') "
                           "ORDER BY id").fetchall() == named
    # The menu names what changed (a new user read "Switch Model" as a new recognition model).
    assert win.actions.undo_action.text() == "Undo Switch to Fast 8-bit Arithmetic"
    win.actions.undo_action.trigger()
    wait_idle(qtbot, win)
    assert lib.get_setting("embed_precision") == "fp32"
    # and the status bar's model follows the undo (it said ":int8" until the window closed).
    qtbot.waitUntil(lambda: not win.model_label.text().endswith(":int8"), timeout=5000)
    assert "Switch to Fast 8-bit Arithmetic" in win.state_label.text()
