"""Print template.yaml transformed from SAM to plain CloudFormation JSON (offline).

Usage: python sam_transform.py <template.yaml>

The local stack provisions resources from this output, so every resource and attribute in the
template appears locally. Code locations are replaced by a dummy S3 URI: the transform insists on
one, and nothing local uses it. Managed-policy names are not resolved (that needs IAM).
"""
import json
import sys

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse


class NoManagedPolicies:
    def load(self):
        return {}


def main(path):
    with open(path, encoding="utf-8") as f:
        template = yaml_parse(f.read())
    function_globals = template.get("Globals", {}).get("Function", {})
    if "CodeUri" in function_globals:
        function_globals["CodeUri"] = "s3://local-stack/unused.zip"
    for resource in template.get("Resources", {}).values():
        if resource.get("Type") == "AWS::Serverless::Function":
            resource.setdefault("Properties", {})["CodeUri"] = "s3://local-stack/unused.zip"
    json.dump(transform(template, {}, NoManagedPolicies()), sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1])
