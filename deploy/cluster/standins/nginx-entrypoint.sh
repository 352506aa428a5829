#!/bin/sh
# Render each template with the variables set in the environment only (nginx's own $variables
# stay), like the official image's 20-envsubst-on-templates.sh.
set -e
defined=$(printf '${%s} ' $(env | cut -d= -f1))
for template in /etc/nginx/templates/*.template; do
    [ -f "$template" ] || continue
    name=$(basename "$template" .template)
    envsubst "$defined" < "$template" > "/etc/nginx/conf.d/$name"
done
exec "$@"
