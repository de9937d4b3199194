#!/bin/sh
# One-shot MinIO setup for docker-compose.yml (runs in the minio/mc image, then exits 0):
# the bucket, no anonymous access, and an application user that can touch only that bucket.
set -eu

mc alias set local "http://minio:9000" "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD"
mc mb --ignore-existing "local/$S3_BUCKET"
# Every read and write goes through presigned URLs: nothing is public.
mc anonymous set none "local/$S3_BUCKET"

sed "s/__BUCKET__/$S3_BUCKET/g" /init/app-policy.json > /tmp/app-policy.json
mc admin policy create local sharesync-app /tmp/app-policy.json
mc admin user add local "$S3_ACCESS_KEY_ID" "$S3_SECRET_ACCESS_KEY"
mc admin policy attach local sharesync-app --user "$S3_ACCESS_KEY_ID" || true  # already attached on re-runs
echo "minio: bucket $S3_BUCKET ready for user $S3_ACCESS_KEY_ID"
