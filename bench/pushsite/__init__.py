"""A settings module and URLconf for bench/push_receiver.py only: the project as deployed, plus
an insert-only view on the same server as the floor for the push receiver."""
