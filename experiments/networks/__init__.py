"""Brian2 building blocks that protocols share: groups and plastic synapses from the model
records, the competitive STDP layer and its tuning rules, and e-prop training in the network."""
