"""Running samples: the process executor (the only spawner of scenario processes), the
scripted executor for deterministic tests, the resampling executor for simulations, and the
facts about this machine."""
