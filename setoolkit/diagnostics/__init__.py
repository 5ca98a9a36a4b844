"""Why does inference fail? The doctor's seven checks (:mod:`.doctor`) and the known failures they are tested
against (:mod:`.faults`: injections into real models, used by tests, notebook 01 and the doctor's own tests)."""
