"""The throwaway PostgreSQL cluster the tests start (it lives in bench/pgcluster.py, which the
benchmark starts too; the tests import it from here)."""

from bench.pgcluster import Cluster, ClusterError, start_cluster

__all__ = ["Cluster", "ClusterError", "start_cluster"]
