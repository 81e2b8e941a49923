using FluentValidation;

namespace Gateway.Core.Flows;

/// <summary>
/// The bounds a freight request must respect before any service is called. CEP: <c>NNNNN-NNN</c> or 8 digits;
/// 1–100 volume lines; per volume 1–1000 pieces, 0–1000 kg (exclusive of 0), each side 0–300 cm (exclusive of 0);
/// <c>amount</c> (declared value) 0–10,000,000.
/// </summary>
public sealed class QuoteRequestValidator : AbstractValidator<QuoteRequest>
{
    public const int MaxVolumes = 100;

    public QuoteRequestValidator()
    {
        RuleFor(r => r.ZipCodeStart).NotEmpty().Matches(@"^\d{5}-?\d{3}$").WithMessage("CEP must be NNNNN-NNN or 8 digits.").OverridePropertyName("zip_code_start");
        RuleFor(r => r.ZipCodeEnd).NotEmpty().Matches(@"^\d{5}-?\d{3}$").WithMessage("CEP must be NNNNN-NNN or 8 digits.").OverridePropertyName("zip_code_end");
        RuleFor(r => r.Amount).NotNull().InclusiveBetween(0m, 10_000_000m).OverridePropertyName("amount");
        RuleFor(r => r.Volumes).NotEmpty().WithMessage("At least one volume is required.")
            .Must(v => v is null || v.Count <= MaxVolumes).WithMessage($"At most {MaxVolumes} volumes.")
            .OverridePropertyName("volumes");
        RuleForEach(r => r.Volumes).SetValidator(new VolumeValidator()).OverridePropertyName("volumes");
    }
}

public sealed class VolumeValidator : AbstractValidator<Volume>
{
    public VolumeValidator()
    {
        RuleFor(v => v.Quantity).InclusiveBetween(1, 1000).OverridePropertyName("quantity");
        RuleFor(v => v.Weight).GreaterThan(0m).LessThanOrEqualTo(1000m).OverridePropertyName("weight");
        RuleFor(v => v.Height).GreaterThan(0m).LessThanOrEqualTo(300m).OverridePropertyName("height");
        RuleFor(v => v.Width).GreaterThan(0m).LessThanOrEqualTo(300m).OverridePropertyName("width");
        RuleFor(v => v.Length).GreaterThan(0m).LessThanOrEqualTo(300m).OverridePropertyName("length");
    }
}

public sealed class FreightFlowRequestValidator : AbstractValidator<FreightFlowRequest>
{
    private static readonly string[] Selections = ["cheapest", "fastest"];

    public FreightFlowRequestValidator()
    {
        RuleFor(r => r.Quote).SetValidator(new QuoteRequestValidator()).OverridePropertyName(string.Empty);
        RuleFor(r => r.CustomerId).NotEmpty().MaximumLength(64).OverridePropertyName("customer_id");
        RuleFor(r => r.Selection).Must(s => s is null || Selections.Contains(s, StringComparer.OrdinalIgnoreCase))
            .WithMessage("selection must be 'cheapest' or 'fastest'.").OverridePropertyName("selection");
        RuleFor(r => r).Must(r => r.Selection is not null || !string.IsNullOrWhiteSpace(r.ServiceId))
            .WithMessage("Give a selection (cheapest or fastest) or a serviceId.").OverridePropertyName("selection");
        RuleFor(r => r.ServiceId).MaximumLength(64).OverridePropertyName("serviceId");
        RuleFor(r => r.Type).MaximumLength(32).OverridePropertyName("type");
    }
}
