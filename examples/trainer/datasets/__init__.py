"""Dataset builders, one module per family; imported lazily through ``registry``."""
