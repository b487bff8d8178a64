#!/usr/bin/env bash
# System packages: Debian's chromium (the browser tests drive it with Playwright), the CJK fonts (Chinese in
# the browser and in the annual report's PDF) and poppler-utils (pdftotext, to check a PDF's text).
# Installs them with apt when missing (these machines run as root); says so when it cannot.
set -uo pipefail
fonts="$(fc-list 2>/dev/null || true)"  # captured first: grep -q closing the pipe early fails it under pipefail
if [ -x /usr/bin/chromium ] && [ -x /usr/bin/pdftotext ] && grep -qi "noto.*cjk" <<<"$fonts"; then
  exit 0
fi
echo "安装系统软件包：chromium、中文字体 fonts-noto-cjk、poppler-utils（首次约需 1 分钟）……"
if [ "$(id -u)" -ne 0 ]; then
  echo "无法安装：需要 root 权限。请运行 sudo apt-get install -y chromium fonts-noto-cjk poppler-utils；浏览器测试将报告缺少 chromium。" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -q chromium fonts-noto-cjk poppler-utils >/dev/null 2>&1; then
  apt-get update -q >/dev/null 2>&1
  apt-get install -y -q chromium fonts-noto-cjk poppler-utils >/dev/null 2>&1 \
    || echo "无法用 apt 安装 chromium / fonts-noto-cjk / poppler-utils；浏览器测试将报告缺少 chromium。" >&2
fi
