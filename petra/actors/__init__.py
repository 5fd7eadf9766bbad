"""The plant's core actors: the clock, the signal groups, the block chains and the WAL.

```
petra/actors/clock.py         ClockActor: ticks every chain on absolute deadlines
                              (its tick board and scan statistics: `petra.clock`)
petra/actors/signal_group.py  SignalGroupActor: the single writer of its signals
petra/actors/block_chain.py   BlockChainActor: evaluates one connected component of blocks per tick
petra/actors/wal.py           WalActor: makes every accepted sample durable (the format: `petra.storage.wal`)
```

Every other actor belongs to its plug-in folder, in a file named `actor.py`
(or `<name>_actor.py` when a folder has several): `petra/drivers/<protocol>/`,
`petra/alarms/`, `petra/control/`, `petra/storage/`, `petra/metrics/`.
"""
