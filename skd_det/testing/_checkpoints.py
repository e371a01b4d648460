# Copyright (c) skd_det contributors.
"""Checkpoints that attack the loader, and a local HTTP server to download checkpoints from."""
import contextlib
import functools
import http.server
import os
import pickle
import shlex
import threading


class _Payload:
    """Unpickling this calls ``os.system``, which creates ``marker``: what a checkpoint that
    runs code when loaded does."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return os.system, (f'touch {shlex.quote(self.marker)}', )


def malicious_checkpoint(path, marker, state_dict=None):
    """Write ``path``: a checkpoint (``state_dict``, default one small tensor) whose ``meta``
    runs a shell command creating ``marker`` when it is unpickled in full."""
    import torch
    state = {'w': torch.zeros(2)} if state_dict is None else state_dict
    torch.save(dict(state_dict=state, meta=dict(payload=_Payload(marker))), str(path))
    return str(path)


def malicious_results(path, marker):
    """Write ``path``: a tools/test.py ``--out`` results pickle whose loading creates
    ``marker``."""
    with open(str(path), 'wb') as f:
        pickle.dump([dict(img_id=0, payload=_Payload(marker))], f)
    return str(path)


@contextlib.contextmanager
def serve_folder(folder):
    """Serve ``folder`` over HTTP on a free local port; yields the base URL."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f'http://127.0.0.1:{server.server_address[1]}'
    finally:
        server.shutdown()
        server.server_close()
