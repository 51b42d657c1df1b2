"""Networks that read what the sensor delivered."""
