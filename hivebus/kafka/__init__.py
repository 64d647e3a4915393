"""Transport: client configuration, producer, consumer loop, admin, offset tracking."""
