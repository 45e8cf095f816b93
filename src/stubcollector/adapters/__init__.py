"""Adapters: the outside world (payments, OCR, storage, queues) behind small interfaces."""
