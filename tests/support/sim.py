from aura_sim.processes import SIM_BIN as BIN, SimProcess, fresh_database, seeded_template

__all__ = ["BIN", "SimProcess", "fresh_database", "seeded_template"]
