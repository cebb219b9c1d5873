"""The integer reference: the executable spec of every int8 op the models use."""
