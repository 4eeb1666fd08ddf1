"""keyspace harness: do the attention keys of image tokens lie out of the distribution of text-token keys?"""

__version__ = "0.1.0"
