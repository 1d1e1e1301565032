"""Writes the CloudFormation that SAM's transform makes of a SAM template, offline.

Usage: python sam_transform.py template.yaml transformed.json

checkov scans the result too, so what SAM generates (AWS::Lambda::Function, event source
mappings, any role SAM would create) is checked as it would be deployed. Runs with the
samtranslator that aws-sam-cli installs in .venv.
"""

import json
import os
import sys

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse


class NoManagedPolicies:
    """The transform asks for managed policy ARNs only when a function names one by name;
    ours have explicit roles, so it must never ask (and would need IAM, i.e. the network)."""

    def load(self):
        raise RuntimeError("the template refers to a managed policy by name; give the function an explicit role")


def main(source: str, target: str) -> None:
    # The transform fills in pseudo parameters and needs a region for that; no AWS call is made.
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    with open(source, encoding="utf-8") as f:
        template = yaml_parse(f.read())
    for resource in template.get("Resources", {}).values():
        if resource.get("Type") == "AWS::Serverless::Function":
            # `sam build` replaces local code paths with the built artifacts and `sam deploy`
            # uploads them; the transform itself only accepts S3 locations.
            resource["Properties"]["CodeUri"] = "s3://code-bucket/code.zip"
    transformed = transform(template, {}, NoManagedPolicies())
    with open(target, "w", encoding="utf-8") as f:
        json.dump(transformed, f, indent=1, sort_keys=True)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
