"""Online scoring: a registered model scores rows as they arrive on a stream and raises alarm events.

``tsad stream`` (``service.main``) wires a source (a folder of growing files, an MQTT topic), the model's own
inference steps (``scoring``), alarm events (``alarms``) and sinks (a JSON Lines file, an MQTT topic).
"""
