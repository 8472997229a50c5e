"""Signed result callbacks (`qualitygate deliver`): results from the stream to each CMS.

A process of its own, reading the results stream with its own consumer group. It never
imports ``workers`` or ``api``.
"""
