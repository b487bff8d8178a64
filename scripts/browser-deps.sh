#!/usr/bin/env bash
# The browser tests drive Debian's chromium with Playwright and need CJK fonts to render Chinese.
# Installs both with apt when missing (these machines run as root); says so when it cannot.
set -uo pipefail
if [ -x /usr/bin/chromium ] && [ -x /usr/bin/pdftotext ] && fc-list 2>/dev/null | grep -qi "noto.*cjk"; then
  exit 0
fi
echo "安装浏览器测试所需的 chromium 与中文字体（fonts-noto-cjk）……"
if [ "$(id -u)" -ne 0 ]; then
  echo "无法安装：需要 root 权限。请运行 sudo apt-get install -y chromium fonts-noto-cjk；浏览器测试将报告缺少 chromium。" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -q chromium fonts-noto-cjk poppler-utils >/dev/null 2>&1; then
  apt-get update -q >/dev/null 2>&1
  apt-get install -y -q chromium fonts-noto-cjk poppler-utils >/dev/null 2>&1 \
    || echo "无法用 apt 安装 chromium / fonts-noto-cjk；浏览器测试将报告缺少 chromium。" >&2
fi
