"""Model definitions, one module per family; imported lazily through ``registry``."""
