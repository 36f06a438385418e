#!/bin/sh
# Regenerates the built-in lab page's media (logo.jpg, audio.mp3, favicon.ico) in this folder.
# Not run at build time: the generated files are committed. Needs ImageMagick (convert),
# espeak-ng, sox and lame (Debian: apt-get install imagemagick espeak-ng sox lame).
#
# Targets: logo.jpg ~30 KB (a large enough image that the response spans several TCP segments
# in a capture), audio.mp3 ~1.5 MB (~90 s at 128 kbps; browsers fetch it with Range: bytes=0-),
# favicon.ico 32x32.
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# --- logo.jpg: a seeded (reproducible) plasma background with a gradient overlay and text.
convert -seed 42 -size 400x240 plasma:steelblue-navy \
  \( -size 400x240 gradient:'rgba(255,255,255,0.35)'-'rgba(0,0,0,0.35)' \) -compose over -composite \
  -gravity center -fill white -stroke black -strokewidth 1 \
  -pointsize 72 -annotate +0-30 'labtool' \
  -pointsize 36 -annotate +0+45 'Lab 2 - TCP & HTTP' \
  -strip -sampling-factor 4:2:0 -quality 92 logo.jpg

# --- favicon.ico: 32x32, a blue square with an "L".
convert -size 32x32 xc:navy -gravity center -fill white -pointsize 26 -annotate +0+0 'L' \
  -define icon:auto-resize=32 favicon.ico

# --- audio.mp3: a spoken sentence about TCP, a short tone, repeated to ~90 s, 128 kbps CBR.
espeak-ng -v en -s 150 -w "$tmp/speech.wav" \
  "This page was served by labtool. Watch the terminal: the browser opens a TCP connection with a three way handshake, sends an HTTP request, and the server answers in segments sized by the maximum segment size."
sox "$tmp/speech.wav" -r 44100 -c 2 "$tmp/speech44.wav"
sox -n -r 44100 -c 2 "$tmp/tone.wav" synth 1.5 sine 440 fade 0.05 1.5 0.3 vol 0.3
sox -n -r 44100 -c 2 "$tmp/pause.wav" trim 0 1.0
sox "$tmp/speech44.wav" "$tmp/pause.wav" "$tmp/tone.wav" "$tmp/pause.wav" "$tmp/unit.wav"
# Repeat the unit, then cut at exactly 90 s.
sox "$tmp/unit.wav" "$tmp/long.wav" repeat 9
sox "$tmp/long.wav" "$tmp/final.wav" trim 0 90 fade 0 90 2
lame --quiet -b 128 --cbr --tt "labtool lab page" --ta "labtool" "$tmp/final.wav" audio.mp3

ls -l logo.jpg audio.mp3 favicon.ico
