"""Agentry's AWS infrastructure as a CDK app (aws-cdk-lib v2, Python). See docs/deployment.md."""

import os

# jsii runs on the machine's node; node 20 works but prints an end-of-life banner per process.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
