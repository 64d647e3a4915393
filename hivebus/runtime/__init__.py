"""Runtime: Agent, Context, dispatcher, worker process, retries/DLQ, directory, metrics."""
