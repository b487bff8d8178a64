"""Entry points beside the CLI: serve, the demo, flows run by hand, deployments."""
