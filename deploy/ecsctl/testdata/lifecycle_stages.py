# The lifecycle stages of an ECS service deployment as botocore's model lists them (the API
# reference's enum, in its order), one a line.
import botocore.session

model = botocore.session.get_session().get_service_model("ecs")
shape = model.shape_for("ServiceDeployment").members["lifecycleStage"]
print("\n".join(shape.enum))
