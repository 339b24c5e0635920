"""What a pipeline is: file loading and the pydantic models."""
