"""TF Serving's official Python client against agp serve (issue 25): gRPC Predict,
GetModelMetadata and GetModelStatus with tensorflow-serving-api, then /metrics read with
Prometheus' own parser. Prints one JSON object for the test to check.

usage: tfserving_client.py GRPC_TARGET REST_URL MODEL
"""

import json
import sys
import urllib.request

import grpc
import tensorflow as tf
from prometheus_client.parser import text_string_to_metric_families
from tensorflow_serving.apis import (
    get_model_metadata_pb2,
    get_model_status_pb2,
    model_service_pb2_grpc,
    predict_pb2,
    prediction_service_pb2_grpc,
)

target, rest, model = sys.argv[1:4]
channel = grpc.insecure_channel(target)
predictions = prediction_service_pb2_grpc.PredictionServiceStub(channel)
models = model_service_pb2_grpc.ModelServiceStub(channel)
out = {}

DENSE = [[3.0, -0.5], [float("nan"), 0.25], [40.0, 2.0]]
SPARSE = [["user-1", "4"], ["", "9007199254740993"], ["x" * 300, "2"]]


def predict(label=None, version=None, name=model, dense=DENSE):
    request = predict_pb2.PredictRequest()
    request.model_spec.name = name
    request.model_spec.signature_name = "serving_default"
    if label is not None:
        request.model_spec.version_label = label
    if version is not None:
        request.model_spec.version.value = version
    request.inputs["dense"].CopyFrom(tf.make_tensor_proto(dense, dtype=tf.float32))
    request.inputs["sparse"].CopyFrom(tf.make_tensor_proto(SPARSE, dtype=tf.string))
    try:
        response = predictions.Predict(request, timeout=10)
    except grpc.RpcError as error:
        return {"code": error.code().name, "details": error.details()}
    return {
        "probability": tf.make_ndarray(response.outputs["probability"]).tolist(),
        "version": response.model_spec.version.value,
    }


out["predict"] = predict()
out["canary"] = predict(label="canary")
out["gold"] = predict(label="gold")  # set with agp registry label
out["old"] = predict(label="old")  # a registry label on a version not loaded
out["pinned"] = predict(version=1)
out["unknown_model"] = predict(name="nope")
out["bad_shape"] = predict(dense=[[1.0, 2.0, 3.0]] * 3)

metadata_request = get_model_metadata_pb2.GetModelMetadataRequest()
metadata_request.model_spec.name = model
metadata_request.metadata_field.append("signature_def")
metadata = predictions.GetModelMetadata(metadata_request, timeout=10)
signatures = get_model_metadata_pb2.SignatureDefMap()
metadata.metadata["signature_def"].Unpack(signatures)
signature = signatures.signature_def["serving_default"]
out["metadata"] = {
    "version": metadata.model_spec.version.value,
    "method_name": signature.method_name,
    "inputs": {
        k: {
            "dtype": tf.dtypes.as_dtype(v.dtype).name,
            "shape": [d.size for d in v.tensor_shape.dim],
            "name": v.name,
        }
        for k, v in signature.inputs.items()
    },
    "outputs": {k: tf.dtypes.as_dtype(v.dtype).name for k, v in signature.outputs.items()},
}

status_request = get_model_status_pb2.GetModelStatusRequest()
status_request.model_spec.name = model
status = models.GetModelStatus(status_request, timeout=10)
out["status"] = [
    {
        "version": s.version,
        "state": get_model_status_pb2.ModelVersionStatus.State.Name(s.state),
        "error_code": s.status.error_code,
    }
    for s in status.model_version_status
]

text = urllib.request.urlopen(rest + "/metrics", timeout=10).read().decode("utf-8")
families = {}
for family in text_string_to_metric_families(text):
    families[family.name] = [
        {"name": s.name, "labels": s.labels, "value": s.value} for s in family.samples
    ]
out["metrics"] = families

print(json.dumps(out))
