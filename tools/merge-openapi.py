#!/usr/bin/env python3
"""Merge an OpenAPI fragment (tags, paths, components) into api/openapi.yaml, textually.

The fragment's top-level `tags:` items, `paths:` entries and each `components:` section's
entries are inserted at the end of the matching section of the main document, so the main
file keeps its comments and layout. Refuses duplicates. Usage: merge-openapi.py MAIN FRAGMENT
"""
import re
import sys

import yaml


def sections(lines):
    """Map top-level key -> (start, end) line ranges."""
    out, cur, start = {}, None, 0
    for i, line in enumerate(lines):
        m = re.match(r'^([A-Za-z][\w-]*):', line)
        if m:
            if cur:
                out[cur] = (start, i)
            cur, start = m.group(1), i
    if cur:
        out[cur] = (start, len(lines))
    return out


def subsections(lines, start, end):
    out, cur, s = {}, None, start
    for i in range(start + 1, end):
        m = re.match(r'^  ([A-Za-z][\w-]*):', lines[i])
        if m:
            if cur:
                out[cur] = (s, i)
            cur, s = m.group(1), i
    if cur:
        out[cur] = (s, end)
    return out


def trim(lines, a, b):
    while b > a and not lines[b - 1].strip():
        b -= 1
    return b


def main():
    main_path, frag_path = sys.argv[1], sys.argv[2]
    main_lines = open(main_path).read().split('\n')
    frag_lines = open(frag_path).read().split('\n')
    main_doc, frag_doc = yaml.safe_load('\n'.join(main_lines)), yaml.safe_load('\n'.join(frag_lines))
    for p in frag_doc.get('paths', {}):
        if p in main_doc.get('paths', {}):
            sys.exit(f'duplicate path {p}')
    for sec, entries in frag_doc.get('components', {}).items():
        for k in entries:
            if k in main_doc.get('components', {}).get(sec, {}):
                sys.exit(f'duplicate component {sec}.{k}')
    ms, fs = sections(main_lines), sections(frag_lines)
    inserts = []  # (main line index, lines)
    for key in ('tags', 'paths'):
        if key in fs:
            a, b = fs[key]
            body = frag_lines[a + 1:trim(frag_lines, a, b)]
            if body and body[0].startswith('-'):  # "- name:" at column 0: indent like main
                body = ['  ' + line if line else line for line in body]
            inserts.append((trim(main_lines, *ms[key]), body))
    if 'components' in fs:
        msub = subsections(main_lines, *ms['components'])
        fsub = subsections(frag_lines, *fs['components'])
        for sec, (a, b) in fsub.items():
            body = frag_lines[a + 1:trim(frag_lines, a, b)]
            if sec in msub:
                inserts.append((trim(main_lines, *msub[sec]), body))
            else:
                inserts.append((trim(main_lines, *ms['components']), frag_lines[a:trim(frag_lines, a, b)]))
    for at, body in sorted(inserts, key=lambda x: -x[0]):
        main_lines[at:at] = body
    text = '\n'.join(main_lines)
    yaml.safe_load(text)  # still valid YAML
    open(main_path, 'w').write(text)


if __name__ == '__main__':
    main()
