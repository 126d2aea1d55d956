"""The reference Mothership: the stats contract served by real mechanics over PostgreSQL."""

__version__ = "0.1.0"
