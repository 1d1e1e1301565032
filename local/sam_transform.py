"""Transform a SAM template into the CloudFormation SAM would deploy, offline.

Usage: python sam_transform.py template.yaml [transformed.json] [Parameter=Default ...]
(stdout without a target; each Parameter=Default replaces that parameter's default first, so a
scanner that reads defaults sees the other branch of the conditions built on it)

Two users: the local stack provisions the emulator from this output (so every resource and
attribute of the template appears locally), and `make checkov` scans it so what SAM generates
(AWS::Lambda::Function, event source mappings) is checked as deployed. Runs with the samtranslator
that aws-sam-cli installs in .venv.
"""
import json
import os
import sys

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

# `sam build` replaces local code paths with the built artifacts and `sam deploy` uploads them;
# the transform itself only accepts S3 locations, and nothing here uses them.
CODE_URI = "s3://code-bucket/code.zip"


class NoManagedPolicies:
    """The transform asks for managed policy ARNs only when a function names one by name; ours
    have explicit roles, so it must never ask (answering would need IAM, i.e. the network)."""

    def load(self):
        raise RuntimeError("the template refers to a managed policy by name; give the function an explicit role")


def main(source, target=None, *defaults):
    # The transform fills in pseudo parameters and needs a region for that; no AWS call is made.
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    with open(source, encoding="utf-8") as f:
        template = yaml_parse(f.read())
    for assignment in defaults:
        name, _, value = assignment.partition("=")
        if name not in template.get("Parameters", {}):
            sys.exit(f"{source} has no parameter {name}")
        template["Parameters"][name]["Default"] = value
    function_globals = template.get("Globals", {}).get("Function", {})
    if "CodeUri" in function_globals:
        function_globals["CodeUri"] = CODE_URI
    for resource in template.get("Resources", {}).values():
        if resource.get("Type") == "AWS::Serverless::Function":
            resource.setdefault("Properties", {})["CodeUri"] = CODE_URI
    transformed = transform(template, {}, NoManagedPolicies())
    if target is None:
        json.dump(transformed, sys.stdout)
    else:
        with open(target, "w", encoding="utf-8") as f:
            json.dump(transformed, f, indent=1, sort_keys=True)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(*sys.argv[1:])
