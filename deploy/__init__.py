"""Serving CNN Explorer beyond one process: replicas behind a load balancer with session affinity."""
