"""The insurance split as the law computes it (issue 12): lines record the rule that decided
their shares and the co-pay they count toward the five-year cap; an invoice may carry the
visit's insurance adjustment line (no charge, amount 0, shares of opposite signs); route
ratios gain the hospital's level and the care type, and the hospital's level is a dated row.

Existing invoices are NOT re-split: they were issued, and their lines keep the shares they
were issued with (their ``rule`` stays empty, so a later invoice of the same visit never
adjusts them either). The new rules apply to invoices issued after this migration. For the
five-year cap, each existing line's ``copay`` is set to what it co-paid on in-scope care on
the correct route (``min(unit price, insured price) x quantity - fund share``, never below 0;
0 for self-referral and on-demand lines), so the cap keeps counting the year's earlier
invoices as the law counts them.
"""

import django.db.models.deletion
from django.db import migrations, models

CORRECT_ROUTES = ("correct", "emergency")


def care_type_from_kind(apps, schema_editor):
    """``encounter_kind`` became ``care_type``: an emergency row becomes an every-care row
    (an emergency visit is on the emergency route whatever its care type)."""
    RouteRatio = apps.get_model("billing", "RouteRatio")
    for row in RouteRatio.objects.filter(care_type="emergency"):
        taken = RouteRatio.objects.filter(
            effective_from=row.effective_from, route=row.route, hospital_level="", care_type=""
        ).exists()
        if not taken:
            row.care_type = ""
            row.save(update_fields=["care_type"])


def copay_backfill(apps, schema_editor):
    InvoiceLine = apps.get_model("billing", "InvoiceLine")
    lines = InvoiceLine.objects.filter(
        invoice__route__in=CORRECT_ROUTES,
        charge__insurance_unit_price__isnull=False,
        charge__on_demand=False,
    ).select_related("charge")
    batch = []
    for line in lines.iterator(chunk_size=2000):
        base = min(line.unit_price, line.charge.insurance_unit_price) * line.quantity
        line.copay = max(base - line.insurance_share, 0)
        batch.append(line)
        if len(batch) == 2000:
            InvoiceLine.objects.bulk_update(batch, ["copay"])
            batch = []
    if batch:
        InvoiceLine.objects.bulk_update(batch, ["copay"])


class Migration(migrations.Migration):

    dependencies = [
        ('billing', '0009_identity_moves_to_the_frame'),
    ]

    operations = [
        migrations.CreateModel(
            name='HospitalLevelSetting',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('effective_from', models.DateField(unique=True)),
                ('level', models.CharField(choices=[('central', 'Central (tuyến trung ương)'), ('provincial', 'Provincial (tuyến tỉnh)'), ('district', 'District (tuyến huyện)')], max_length=10)),
                ('source', models.CharField(blank=True, help_text='The decision that classified the hospital', max_length=200)),
            ],
            options={
                'verbose_name': 'hospital level',
                'ordering': ['-effective_from'],
            },
        ),
        migrations.AlterModelOptions(
            name='routeratio',
            options={'ordering': ['-effective_from', 'route', 'hospital_level', 'care_type']},
        ),
        migrations.RemoveConstraint(
            model_name='invoice',
            name='invoice_shares_non_negative',
        ),
        migrations.RemoveConstraint(
            model_name='invoiceline',
            name='invoice_line_shares_non_negative',
        ),
        migrations.RemoveConstraint(
            model_name='routeratio',
            name='route_ratio_unique',
        ),
        migrations.RenameField(
            model_name='routeratio',
            old_name='encounter_kind',
            new_name='care_type',
        ),
        migrations.AlterField(
            model_name='routeratio',
            name='care_type',
            field=models.CharField(blank=True, choices=[('inpatient', 'Inpatient (nội trú)'), ('outpatient', 'Outpatient (ngoại trú)')], max_length=12),
        ),
        migrations.AddField(
            model_name='invoiceline',
            name='copay',
            field=models.BigIntegerField(default=0, help_text='Co-payment on correct-route in-scope care that counts toward the five-year cap (a change of it on an adjustment line)'),
        ),
        migrations.AddField(
            model_name='invoiceline',
            name='rule',
            field=models.CharField(blank=True, choices=[('in_scope', "In scope: the card's benefit level"), ('below_threshold', 'Visit below 15 % of the base salary: 100 %'), ('cap_reached', 'Five-year co-pay cap reached: the fund pays the co-pay'), ('on_demand', 'On-demand service: the fund pays on the insured price'), ('out_of_scope', "Outside BHYT: the patient's alone"), ('above_insured_price', 'Charged above the insured price'), ('wrong_route', 'Self-referral: the wrong-route ratio')], max_length=20),
        ),
        migrations.AddField(
            model_name='routeratio',
            name='confirmed',
            field=models.BooleanField(default=True, help_text='Checked against the text of the law or decree'),
        ),
        migrations.AddField(
            model_name='routeratio',
            name='hospital_level',
            field=models.CharField(blank=True, choices=[('central', 'Central (tuyến trung ương)'), ('provincial', 'Provincial (tuyến tỉnh)'), ('district', 'District (tuyến huyện)')], max_length=10),
        ),
        migrations.AddField(
            model_name='routeratio',
            name='note',
            field=models.TextField(blank=True, help_text='What was checked, or what is still to check'),
        ),
        migrations.AlterField(
            model_name='charge',
            name='category',
            field=models.CharField(choices=[('examination', 'Examination'), ('lab', 'Laboratory test'), ('imaging', 'Imaging'), ('drug', 'Drug'), ('bed_day', 'Bed-day'), ('procedure', 'Procedure'), ('adjustment', 'Insurance benefit adjustment')], max_length=12),
        ),
        migrations.AlterField(
            model_name='invoiceline',
            name='category',
            field=models.CharField(choices=[('examination', 'Examination'), ('lab', 'Laboratory test'), ('imaging', 'Imaging'), ('drug', 'Drug'), ('bed_day', 'Bed-day'), ('procedure', 'Procedure'), ('adjustment', 'Insurance benefit adjustment')], max_length=12),
        ),
        migrations.AlterField(
            model_name='invoiceline',
            name='charge',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='invoice_lines', to='billing.charge'),
        ),
        migrations.AlterField(
            model_name='pricelistitem',
            name='category',
            field=models.CharField(choices=[('examination', 'Examination'), ('lab', 'Laboratory test'), ('imaging', 'Imaging'), ('drug', 'Drug'), ('bed_day', 'Bed-day'), ('procedure', 'Procedure'), ('adjustment', 'Insurance benefit adjustment')], max_length=12),
        ),
        migrations.AddConstraint(
            model_name='invoice',
            constraint=models.CheckConstraint(condition=models.Q(('total__gte', 0)), name='invoice_total_non_negative'),
        ),
        migrations.AddConstraint(
            model_name='invoiceline',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('charge__isnull', False), models.Q(('category', 'adjustment'), _negated=True), ('insurance_share__gte', 0), ('patient_share__gte', 0)), models.Q(('charge__isnull', True), ('category', 'adjustment'), ('amount', 0)), _connector='OR'), name='invoice_line_charge_or_adjustment'),
        ),
        migrations.AddConstraint(
            model_name='pricelistitem',
            constraint=models.CheckConstraint(condition=models.Q(('category', 'adjustment'), _negated=True), name='price_not_an_adjustment'),
        ),
        migrations.AddConstraint(
            model_name='routeratio',
            constraint=models.UniqueConstraint(fields=('effective_from', 'route', 'hospital_level', 'care_type'), name='route_ratio_unique'),
        ),
        migrations.RunPython(care_type_from_kind, migrations.RunPython.noop),
        migrations.RunPython(copay_backfill, migrations.RunPython.noop),
    ]
