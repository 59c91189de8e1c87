#!/bin/sh
# Makes dist/S3-SQS-Agent-<version>.dmg from dist/S3 SQS Agent.app (built by `make installer` on macOS).
# Signs the app ad hoc first (see installer/README.md: notifications need a signed bundle).
set -eu
cd "$(dirname "$0")/../.."
APP="dist/S3 SQS Agent.app"
VERSION="$(.venv/bin/python -c 'from importlib.metadata import version; print(version("s3-sqs-agent"))')"
DMG="dist/S3-SQS-Agent-$VERSION.dmg"
[ -d "$APP" ] || { echo "missing $APP: run make installer first" >&2; exit 1; }
codesign --force --deep --sign "${CODESIGN_IDENTITY:--}" "$APP"
codesign --verify --deep --strict "$APP"
STAGE="$(mktemp -d)"
trap 'rm -rf "$STAGE"' EXIT
cp -R "$APP" "$STAGE/"
ln -s /Applications "$STAGE/Applications"
rm -f "$DMG"
hdiutil create -volname "S3 SQS Agent" -srcfolder "$STAGE" -fs HFS+ -format UDZO -ov "$DMG"
echo "Built $DMG"
